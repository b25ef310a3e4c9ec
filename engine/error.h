#pragma once
// Errors are exceptions that carry context (which file, which tensor, which shape).
// The apps catch mm::Error, print its one-line message and exit non-zero.
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace mm {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// MM_CHECK(cond, "format {}", args...): throws mm::Error with the formatted message when cond is false.
#define MM_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) throw ::mm::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)

}  // namespace mm
