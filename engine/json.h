#pragma once
// A minimal JSON value and parser: enough for safetensors headers and metrics lines
// (objects, arrays, strings, numbers, true/false/null). Throws mm::Error on malformed text.
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mm::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  bool is_object() const { return kind == Kind::Object; }
  // Member access that throws a clear error when the key is missing or this is not an object.
  const Value& at(const std::string& key) const;
  bool has(const std::string& key) const { return is_object() && object.count(key) > 0; }
};

Value parse(const std::string& text);
// Escapes a string as a JSON string literal (with the quotes).
std::string quote(const std::string& s);

}  // namespace mm::json
