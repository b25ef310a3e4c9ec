#pragma once
// Files written whole or not at all: the content goes to PATH.tmp, is flushed to the disk, and is
// renamed over PATH, so a crash, a kill or a full disk leaves the previous PATH intact (and at
// worst a stale PATH.tmp, which the next write replaces).
#include <cstdio>
#include <functional>
#include <string>

namespace mm {

// Calls write(f) on PATH.tmp; throws an error naming PATH (and removes the .tmp) when write
// returns false or anything fails.
void write_atomically(const std::string& path, const std::function<bool(FILE*)>& write);
void write_text_atomically(const std::string& path, const std::string& text);
// Throws "`what`: cannot write there (reason)" unless PATH.tmp can be created (it is removed again):
// the apps check their output paths this way before any long work.
void check_writable(const std::string& path, const std::string& what);

}  // namespace mm
