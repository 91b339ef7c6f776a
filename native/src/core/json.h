// A small JSON reader and writer, enough for plan.json, jobs and metrics.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fleetrt {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;

  bool is_null() const { return type == Type::kNull; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  // Member `key` of an object, or nullptr.
  const Json* get(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& def = "") const;
  double get_number(const std::string& key, double def) const;

  // Parses text; on failure returns false and sets *error to one line saying where.
  static bool parse(const std::string& text, Json* out, std::string* error);
};

// Appends a JSON string literal for s.
void json_escape(const std::string& s, std::string* out);
std::string json_quote(const std::string& s);
// Shortest round-tripping form of a double; NaN and infinities become null.
std::string json_number(double v);

}  // namespace fleetrt
