#pragma once
// A small command-line parser shared by the apps: `--name value` and `--switch` flags, declared with
// a default and a help line. Unknown flags, missing values and malformed numbers throw mm::Error
// with one clear line; --help prints the usage.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "engine/distributed.h"
#include "engine/error.h"
#include "engine/ops/conv_kernels.h"
#include "models/precision.h"
#include "train/log.h"

namespace mm {

class Flags {
 public:
  explicit Flags(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

  // A flag that takes a value; `fallback` is its default ("" = none).
  void add(const std::string& name, const std::string& fallback, const std::string& help) {
    order_.push_back(name);
    specs_[name] = {fallback, help, false};
  }
  // A flag without a value (false unless given, or its default set to "1").
  void add_switch(const std::string& name, const std::string& help) {
    order_.push_back(name);
    specs_[name] = {"", help, true};
  }

  // Returns false when --help was asked for (the usage has been printed).
  bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        print_usage();
        return false;
      }
      MM_CHECK(arg.rfind("--", 0) == 0, "unexpected argument '{}' (flags start with --; see --help)", arg);
      std::string name = arg.substr(2), value;
      const size_t eq = name.find('=');
      if (eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq);
      auto it = specs_.find(name);
      MM_CHECK(it != specs_.end(), "unknown flag --{} (see --help)", name);
      if (it->second.is_switch) {
        MM_CHECK(eq == std::string::npos, "--{} takes no value", name);
        values_[name] = "1";
        continue;
      }
      if (eq == std::string::npos) {
        MM_CHECK(i + 1 < argc, "--{} needs a value", name);
        value = argv[++i];
      }
      values_[name] = value;
    }
    return true;
  }

  bool given(const std::string& name) const { return values_.count(name) > 0; }
  bool on(const std::string& name) const { return given(name) || spec(name).fallback == "1"; }
  std::string str(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() ? it->second : spec(name).fallback;
  }
  // The value, or an error naming the flag when it is required and absent.
  std::string required(const std::string& name) const {
    MM_CHECK(given(name) || !spec(name).fallback.empty(), "--{} is required (see --help)", name);
    return str(name);
  }
  // An integer in [lo, hi]. Not a whole number, or out of range (including beyond what a long
  // holds: strtol saturates), is an error naming the flag and the range.
  int64_t integer64(const std::string& name, int64_t lo, int64_t hi) const {
    const std::string s = str(name);
    int64_t v = 0;
    MM_CHECK(parse_integer(s, v), "--{}: '{}' is not an integer", name, s);
    MM_CHECK(lo <= v && v <= hi, "--{} must be in [{}, {}], got {}", name, lo, hi, s);
    return v;
  }
  int integer(const std::string& name, int lo, int hi) const { return static_cast<int>(integer64(name, lo, hi)); }
  // A finite number ("nan" and "inf" are refused: no setting of a run means them).
  double number(const std::string& name) const {
    const std::string s = str(name);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    MM_CHECK(!s.empty() && *end == '\0' && std::isfinite(v), "--{}: '{}' is not a finite number", name, s);
    return v;
  }
  // Comma-separated integers in [lo, hi] ("" gives an empty list).
  std::vector<int> integers(const std::string& name, int lo, int hi) const {
    std::vector<int> out;
    const std::string s = str(name);
    size_t pos = 0;
    while (pos < s.size()) {
      size_t comma = s.find(',', pos);
      if (comma == std::string::npos) comma = s.size();
      int64_t v = 0;
      MM_CHECK(parse_integer(s.substr(pos, comma - pos), v), "--{}: '{}' is not a list of integers", name, s);
      MM_CHECK(lo <= v && v <= hi, "--{}: {} is not in [{}, {}]", name, v, lo, hi);
      out.push_back(static_cast<int>(v));
      pos = comma + 1;
    }
    return out;
  }

  // Replaces a flag's default (a resumed run takes its saved settings for the flags not given).
  void set_default(const std::string& name, const std::string& value) { specs_.at(name).fallback = value; }
  bool is_switch(const std::string& name) const { return spec(name).is_switch; }
  // The flags in the order they were declared.
  const std::vector<std::string>& names() const { return order_; }

  void print_usage() const {
    std::string text = "usage: " + program_ + " [flags]\n" + summary_ + "\n\nflags:\n";
    for (const auto& name : order_) {
      const Spec& s = specs_.at(name);
      std::string left = "  --" + name + (s.is_switch ? "" : " VALUE");
      left.resize(std::max<size_t>(left.size() + 1, 28), ' ');
      text += left + s.help + (s.fallback.empty() ? "" : " (default " + s.fallback + ")") + "\n";
    }
    std::fputs(text.c_str(), stdout);
  }

 private:
  struct Spec {
    std::string fallback, help;
    bool is_switch;
  };
  const Spec& spec(const std::string& name) const { return specs_.at(name); }
  static bool parse_integer(const std::string& s, int64_t& v) {
    char* end = nullptr;
    errno = 0;
    v = std::strtoll(s.c_str(), &end, 10);
    return !s.empty() && *end == '\0' && errno != ERANGE;
  }
  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
};

// --cpu-conv, shared by the apps that run models: how the CPU computes float32 convolutions.
inline void add_cpu_conv_flag(Flags& f) {
  f.add("cpu-conv", kernels::cpu_convolution_name(kernels::cpu_convolution()),
        "CPU float32 convolutions: onednn | gemm (im2col + OpenBLAS, the reference)");
}
inline void apply_cpu_conv_flag(const Flags& f) {
  kernels::set_cpu_convolution(kernels::parse_cpu_convolution(f.str("cpu-conv")));
}

// --precision, shared by the apps that run models (models/precision.h). `training`: its default is
// bf16 where the GPU has bfloat16 tensor cores (else fp32); evaluation's is fp32.
inline void add_precision_flag(Flags& f, bool training) {
  f.add("precision", "auto",
        std::string("fp32 | tf32 | bf16 (tf32 and bf16: a GPU of compute capability 8.0+); auto: ") +
            (training ? "bf16 on such a GPU, else fp32" : "fp32"));
}
// The precision asked for, checked against the device (before any data is read).
inline Precision precision_flag(const Flags& f, Device device, bool training) {
  const std::string name = f.str("precision");
  const Precision p = name == "auto" ? (training ? default_training_precision(device) : Precision::Fp32) : parse_precision(name);
  check_precision(p, device);
  return p;
}

// An app's main: runs run(argc, argv) and turns any exception into one line on stderr and exit 1
// (docs/architecture.md "Style": never abort, never crash on bad input). Started by mpirun on K
// ranks (engine/distributed.h), an app that trains data-parallel (data_parallel) runs on all of
// them, printing on rank 0 only; an error on any rank prints that rank's line and ends every rank
// (none is left waiting in a collective). The other apps refuse to run on several ranks.
template <class Run>
int run_app(const char* name, int argc, char** argv, Run run, bool data_parallel = false) {
#ifdef MM_X86_64_V3
  // the engine is built for x86-64-v3 (CMakeLists.txt): say so instead of dying on an illegal instruction
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "%s: error: this build needs a CPU with AVX2 and FMA (configure with -DMM_X86_64_V3=OFF)\n",
                 name);
    return 1;
  }
#endif
  // one line at a time, whatever stdout is: a log file or a pipe gets each line when it is printed,
  // in order with stderr, and keeps it when the process is killed
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const Communicator* ranks = nullptr;
  try {
    ranks = &world();
    set_log_rank(ranks->rank(), ranks->size());
    MM_CHECK(data_parallel || ranks->size() == 1, "{} runs as one process; start it without mpirun (or with -np 1)",
             name);
    const int status = run(argc, argv);
    finish_distributed();
    return status;
  } catch (const std::exception& e) {
    say_error(name, e.what());  // stderr, and the run's train.log when there is one
    if (ranks && ranks->size() > 1) ranks->abort(1);
    return 1;
  }
}

}  // namespace mm
