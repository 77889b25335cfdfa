#include "steerdns/zone/diagnostic.h"

namespace steerdns::zone {

std::string Diagnostic::to_string() const {
    std::string out;
    if (!file.empty()) out += file + ":";
    if (pos.line != 0) out += std::to_string(pos.line) + ":" + std::to_string(pos.col) + ":";
    if (!out.empty()) out += ' ';
    if (!pos.path.empty()) out += pos.path + ": ";
    out += message;
    return out;
}

}  // namespace steerdns::zone
