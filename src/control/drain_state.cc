#include "steerdns/control/drain_state.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "steerdns/util/clock.h"
#include "steerdns/util/fd.h"
#include "steerdns/util/file.h"
#include "steerdns/zone/json_reader.h"

namespace steerdns::control {
namespace {

std::string errno_text() {
    return std::strerror(errno);
}

nlohmann::ordered_json drained_json(const DrainSet& set) {
    nlohmann::ordered_json drained = nlohmann::ordered_json::array();
    for (const auto& [k, since] : set.entries()) {
        nlohmann::ordered_json e;
        e["zone"] = k.zone;
        e["pool"] = k.pool;
        e["address"] = k.address;
        e["since"] = util::rfc3339(since);
        drained.push_back(std::move(e));
    }
    return drained;
}

std::string dump(const nlohmann::ordered_json& doc) {
    return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// A probe key holds the address as raw bytes and the check's text as written: printable ASCII
// stays as it is, every other byte (and '%') is %XX, so the file is plain JSON and the key
// reads back byte for byte.
std::string escape_key(std::string_view key) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : key) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f && b != '%') {
            out += c;
        } else {
            out += '%';
            out += kHex[b >> 4];
            out += kHex[b & 15];
        }
    }
    return out;
}

std::optional<std::string> unescape_key(std::string_view text) {
    const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = digit(text[i + 1]);
        const int lo = digit(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
    }
    return out;
}

nlohmann::ordered_json health_json(const std::vector<health::SavedProbe>& saved) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const health::SavedProbe& s : saved) {
        nlohmann::ordered_json e;
        e["key"] = escape_key(s.key);
        if (!s.address.empty()) e["address"] = s.address;
        e["state"] = health::state_name(s.state);
        e["count"] = s.count;
        e["since"] = util::rfc3339(s.since_unix_ms);
        e["last"] = util::rfc3339(s.last_unix_ms);
        e["last_ok"] = s.last_ok;
        e["reason"] = s.reason;
        if (s.failback_held) e["failback"] = "held";
        out.push_back(std::move(e));
    }
    return out;
}

// Entries that do not read back are skipped, never an error: a probe without one is probed.
std::vector<health::SavedProbe> parse_health(const nlohmann::ordered_json& doc) {
    std::vector<health::SavedProbe> out;
    const auto it = doc.find("health");
    if (it == doc.end() || !it->is_array()) return out;
    for (const nlohmann::ordered_json& e : *it) {
        if (!e.is_object()) continue;
        const auto text = [&e](const char* name) -> std::optional<std::string> {
            const auto f = e.find(name);
            if (f == e.end() || !f->is_string()) return std::nullopt;
            return f->get<std::string>();
        };
        const auto key = text("key");
        const auto state = text("state");
        const auto since = util::parse_rfc3339(text("since").value_or(""));
        const auto last = util::parse_rfc3339(text("last").value_or(""));
        const auto count = e.find("count");
        const auto last_ok = e.find("last_ok");
        health::SavedProbe s;
        if (!key || key->empty() || !state || !health::parse_state_name(*state, s.state) ||
            !since || !last || count == e.end() || !count->is_number_unsigned() ||
            last_ok == e.end() || !last_ok->is_boolean())
            continue;
        const std::optional<std::string> raw = unescape_key(*key);
        if (!raw || raw->empty()) continue;
        s.key = *raw;
        s.address = text("address").value_or("");
        s.count = static_cast<uint32_t>(std::min<uint64_t>(count->get<uint64_t>(), UINT32_MAX));
        s.since_unix_ms = *since;
        s.last_unix_ms = *last;
        s.last_ok = last_ok->get<bool>();
        s.reason = text("reason").value_or("");
        s.failback_held = text("failback") == "held";
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

std::string state_file_path(const std::string& zones) {
    struct stat st {};
    std::string dir = zones;
    if (::stat(zones.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        const size_t slash = zones.rfind('/');
        dir = slash == std::string::npos ? "." : zones.substr(0, slash == 0 ? 1 : slash);
    }
    if (dir.empty()) dir = ".";
    return dir + (dir.back() == '/' ? "" : "/") + ".steerdns-state.json";
}

std::string drain_state_json(const DrainSet& set) {
    return state_json(StateFile{set, {}});
}

std::string state_json(const StateFile& state) {
    nlohmann::ordered_json doc;
    doc["version"] = 1;
    doc["drained"] = drained_json(state.drains);
    // Absent rather than empty when there is nothing to keep: a server without health checks
    // writes the file it always wrote.
    if (!state.health.empty()) doc["health"] = health_json(state.health);
    return dump(doc);
}

bool parse_drain_state(std::string_view text, DrainSet& out, std::string& error) {
    StateFile state;
    if (!parse_state(text, state, error)) return false;
    out = std::move(state.drains);
    return true;
}

bool parse_state(std::string_view text, StateFile& out, std::string& error) {
    // Syntax first, for a message in the same words as a zone file's (a hand-edited state
    // file has the same trailing commas); the document itself keeps its key order.
    if (nlohmann::json checked; !zone::parse_json(text, checked, error)) return false;
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text);
    if (!doc.is_object() || !doc.contains("version") || doc["version"] != 1) {
        error = "not a steerdns state file (expected {\"version\": 1, ...})";
        return false;
    }
    const auto it = doc.find("drained");
    if (it == doc.end() || !it->is_array()) {
        error = "\"drained\" must be an array";
        return false;
    }
    DrainSet set;
    for (size_t i = 0; i < it->size(); ++i) {
        const nlohmann::ordered_json& e = (*it)[i];
        const std::string where = "drained[" + std::to_string(i) + "]: ";
        if (!e.is_object()) {
            error = where + "expected an object";
            return false;
        }
        auto field = [&](const char* name) -> std::string {
            const auto f = e.find(name);
            return f != e.end() && f->is_string() ? f->get<std::string>() : std::string();
        };
        DrainKey key;
        std::string why;
        if (!zone::make_drain_key(field("zone"), field("pool"), field("address"), key, why)) {
            error = where + why;
            return false;
        }
        const std::optional<int64_t> since = util::parse_rfc3339(field("since"));
        set.add(key, since.value_or(0));
    }
    out.drains = std::move(set);
    out.health = parse_health(doc);
    return true;
}

bool load_drain_state(const std::string& path, DrainSet& out, std::string& error) {
    StateFile state;
    if (!load_state(path, state, error)) return false;
    out = std::move(state.drains);
    return true;
}

bool load_state(const std::string& path, StateFile& out, std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            out = StateFile{};  // nothing drained yet, no health known
            return true;
        }
        error = path + ": " + errno_text();
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        error = path + ": is a directory";
        return false;
    }
    std::string text;
    if (!util::read_file(path, text, error)) {
        error = path + ": cannot read: " + error;
        return false;
    }
    std::string why;
    if (!parse_state(text, out, why)) {
        error = path + ": " + why;
        return false;
    }
    return true;
}

bool save_drain_state(const std::string& path, const DrainSet& set, std::string& error) {
    return save_state(path, StateFile{set, {}}, error);
}

std::vector<health::SavedProbe> fresh_health(const std::vector<health::SavedProbe>& saved,
                                             int64_t now_unix_ms, int64_t max_age_ms) {
    std::vector<health::SavedProbe> out;
    for (const health::SavedProbe& s : saved) {
        const int64_t age = now_unix_ms - s.last_unix_ms;
        if (age >= 0 && age < max_age_ms) out.push_back(s);
    }
    return out;
}

bool save_state(const std::string& path, const StateFile& state, std::string& error) {
    const std::string text = state_json(state);
    const std::string tmp = path + ".tmp";
    {
        util::Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
        if (f.get() < 0) {
            error = tmp + ": " + errno_text();
            return false;
        }
        size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(f.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                error = tmp + ": " + errno_text();
                ::unlink(tmp.c_str());
                return false;
            }
            done += static_cast<size_t>(n);
        }
        // The data reaches the disk before the name does: after a crash the file is the old
        // one or the new one, never an empty one.
        if (::fsync(f.get()) != 0) {
            error = tmp + ": fsync: " + errno_text();
            ::unlink(tmp.c_str());
            return false;
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error = path + ": rename: " + errno_text();
        ::unlink(tmp.c_str());
        return false;
    }
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    util::Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.get() >= 0) ::fsync(d.get());  // the rename itself; best effort
    return true;
}

}  // namespace steerdns::control
