#include "engine/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace mm {

void write_atomically(const std::string& path, const std::function<bool(FILE*)>& write) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  MM_CHECK(f, "cannot write '{}': {}", tmp, std::strerror(errno));
  errno = 0;
  bool ok = write(f);
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno ? std::strerror(errno) : "write failed";
    std::remove(tmp.c_str());
    throw Error(fmt::format("could not write '{}': {}", path, reason));
  }
}

void check_writable(const std::string& path, const std::string& what) {
  const std::string probe = path + ".tmp";
  FILE* f = std::fopen(probe.c_str(), "wb");
  MM_CHECK(f && std::fclose(f) == 0, "{}: cannot write there ({})", what, std::strerror(errno));
  std::remove(probe.c_str());
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_atomically(path, [&](FILE* f) { return std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

}  // namespace mm
