#include "train/log.h"

#include <cstdio>
#include <mutex>

#include "engine/error.h"

namespace mm {
namespace {
std::mutex g_mutex;
FILE* g_log = nullptr;  // open until the process ends; each line is flushed as it is written

void append(const std::string& text) {
  if (g_log) std::fputs(text.c_str(), g_log), std::fflush(g_log);
}
}  // namespace

void log_to_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_log) std::fclose(g_log);
  g_log = std::fopen(path.c_str(), "a");
  MM_CHECK(g_log, "cannot write the log '{}'", path);
}

void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  append(line);
}

void say_progress(const std::string& text, bool tty) {
  if (!tty) return say(text + "\n");
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fputs(("\r" + text).c_str(), stdout);
  std::fflush(stdout);
}

void say_error(const char* program, const std::string& what) {
  const std::string line = fmt::format("{}: error: {}\n", program, what);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fputs(line.c_str(), stderr);
  append(line);
}

}  // namespace mm
