#include "engine/json.h"

#include <cstdlib>

#include "engine/error.h"

namespace mm::json {

namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}
  Value parse_document() {
    Value v = parse_value();
    skip_space();
    MM_CHECK(pos_ == s_.size(), "json: trailing characters at offset {}", pos_);
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  char peek() {
    skip_space();
    MM_CHECK(pos_ < s_.size(), "json: unexpected end of text");
    return s_[pos_];
  }
  void expect(char c) {
    MM_CHECK(peek() == c, "json: expected '{}' at offset {}", c, pos_);
    ++pos_;
  }
  bool consume_word(const char* w) {
    const std::string word(w);
    if (s_.compare(pos_, word.size(), word) != 0) return false;
    pos_ += word.size();
    return true;
  }
  // Nesting deeper than this is refused: the parser recurses, and a file of thousands of '[' would
  // otherwise overflow the stack. The engine's own files nest two levels.
  static constexpr int kMaxDepth = 64;

  Value parse_value() {
    MM_CHECK(depth_ < kMaxDepth, "json: nested deeper than {} levels at offset {}", kMaxDepth, pos_);
    ++depth_;
    Value v = parse_nested();
    --depth_;
    return v;
  }

  Value parse_nested() {
    Value v;
    const char c = peek();
    if (c == '{') {
      v.kind = Value::Kind::Object;
      ++pos_;
      if (peek() == '}') return ++pos_, v;
      while (true) {
        std::string key = parse_string();
        expect(':');
        v.object[key] = parse_value();
        if (peek() == ',') { ++pos_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Value::Kind::Array;
      ++pos_;
      if (peek() == ']') return ++pos_, v;
      while (true) {
        v.array.push_back(parse_value());
        if (peek() == ',') { ++pos_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Value::Kind::String;
      v.string = parse_string();
      return v;
    }
    if (consume_word("true")) { v.kind = Value::Kind::Bool; v.boolean = true; return v; }
    if (consume_word("false")) { v.kind = Value::Kind::Bool; return v; }
    if (consume_word("null")) return v;
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    v.number = std::strtod(begin, &end);
    MM_CHECK(end != begin, "json: unexpected character '{}' at offset {}", c, pos_);
    v.kind = Value::Kind::Number;
    pos_ += end - begin;
    return v;
  }
  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      MM_CHECK(pos_ < s_.size(), "json: unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      MM_CHECK(pos_ < s_.size(), "json: unterminated escape");
      c = s_[pos_++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          // exactly four hex digits (std::stoul would take "+1" or " 1a", and throw its own error)
          MM_CHECK(pos_ + 4 <= s_.size(), "json: short \\u escape");
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[pos_++];
            const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            MM_CHECK(digit >= 0, "json: '\\u' must be followed by four hex digits at offset {}", pos_ - 1);
            code = code * 16 + static_cast<unsigned>(digit);
          }
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default: out += c;  // \" \\ \/
      }
    }
  }
  const std::string& s_;
  size_t pos_ = 0;
  int depth_ = 0;  // the arrays and objects open around the value being parsed
};

}  // namespace

const Value& Value::at(const std::string& key) const {
  MM_CHECK(is_object(), "json: looking up '{}' in a value that is not an object", key);
  auto it = object.find(key);
  MM_CHECK(it != object.end(), "json: missing key '{}'", key);
  return it->second;
}

Value parse(const std::string& text) { return Parser(text).parse_document(); }

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
  }
  return out + "\"";
}

}  // namespace mm::json
