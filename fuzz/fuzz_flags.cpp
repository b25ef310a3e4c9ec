// Any bytes as a command line (arguments separated by NUL bytes) for the apps' flag parser, then
// every typed read of the flags, as train_cifar makes them.
#include <cstdio>
#include <vector>

#include "apps/flags.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::freopen("/dev/null", "w", stdout);  // --help prints the usage
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"fuzz"};
  std::string current;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) args.push_back(current), current.clear();
    else current += static_cast<char>(data[i]);
  }
  args.push_back(current);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  mm::Flags flags("fuzz", "the flag parser under fuzzing");
  flags.add("epochs", "200", "an integer");
  flags.add("seed", "0", "a 64-bit integer");
  flags.add("lr", "0.1", "a number");
  flags.add("milestones", "", "a list");
  flags.add("out", "", "a string");
  flags.add_switch("distill", "a switch");
  try {
    if (!flags.parse(static_cast<int>(argv.size()), argv.data())) return 0;
    (void)flags.integer("epochs", 1, 1000000);
    (void)flags.integer64("seed", 0, INT64_MAX);
    (void)flags.number("lr");
    (void)flags.integers("milestones", 1, 1000);
    (void)flags.required("out");
    (void)flags.on("distill");
  } catch (const mm::Error&) {
  }
  return 0;
}
