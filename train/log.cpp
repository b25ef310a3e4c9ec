#include "train/log.h"

#include <cstdio>
#include <mutex>

#include "engine/error.h"

namespace mm {
namespace {
std::mutex g_mutex;
FILE* g_log = nullptr;  // open until the process ends; each line is flushed as it is written
int g_rank = 0, g_ranks = 1;

void append(const std::string& text) {
  if (g_log) std::fputs(text.c_str(), g_log), std::fflush(g_log);
}
}  // namespace

void set_log_rank(int rank, int ranks) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_rank = rank, g_ranks = ranks;
}

void log_to_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_rank != 0) return;
  if (g_log) std::fclose(g_log);
  g_log = std::fopen(path.c_str(), "a");
  MM_CHECK(g_log, "cannot write the log '{}'", path);
}

void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_rank != 0) return;
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  append(line);
}

void say_progress(const std::string& text, bool tty) {
  if (!tty) return say(text + "\n");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_rank != 0) return;
  std::fputs(("\r" + text).c_str(), stdout);
  std::fflush(stdout);
}

void say_error(const char* program, const std::string& what) {
  const std::string line = g_ranks > 1 ? fmt::format("{} (rank {} of {}): error: {}\n", program, g_rank, g_ranks, what)
                                       : fmt::format("{}: error: {}\n", program, what);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fputs(line.c_str(), stderr);
  append(line);
}

}  // namespace mm
