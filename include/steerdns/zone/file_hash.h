// The SHA-256 of a zone file's text, shown per zone in GET /status: two servers of one NS set
// serving different versions of a file differ in it even under the same serial, and an operator
// compares it with `sha256sum FILE` on the zone repository.
#pragma once

#include <string>
#include <string_view>

namespace steerdns::zone {

// 64 lowercase hex digits.
std::string text_sha256(std::string_view text);

}  // namespace steerdns::zone
