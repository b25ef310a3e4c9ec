#pragma once
// What a run prints: to stdout, and once the run folder is known, also appended to OUT/train.log
// (as `train_cifar ... 2>&1 | tee -a OUT/train.log` would), a whole line at a time, so the log keeps
// what was printed up to a kill. Progress lines that a terminal rewrites in place stay off the log.
#include <fmt/format.h>

#include <string>

namespace mm {

// In a data-parallel run only rank 0 prints and logs; errors are printed by any rank, with its rank.
void set_log_rank(int rank, int ranks);

// Appends every later line to `path` as well; throws when the file cannot be opened.
void log_to_file(const std::string& path);

// Prints a line (the text ends with '\n') to stdout and the log.
void say(const std::string& line);
template <class... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  say(fmt::format(format, std::forward<Args>(args)...));
}
// A progress line: on a terminal rewritten in place ("\r", not logged), else a logged line.
void say_progress(const std::string& text, bool tty);
// An error line to stderr and the log: "program: error: what".
void say_error(const char* program, const std::string& what);

}  // namespace mm
