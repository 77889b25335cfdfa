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
    nlohmann::ordered_json drained = nlohmann::ordered_json::array();
    for (const auto& [k, since] : set.entries()) {
        nlohmann::ordered_json e;
        e["zone"] = k.zone;
        e["pool"] = k.pool;
        e["address"] = k.address;
        e["since"] = util::rfc3339(since);
        drained.push_back(std::move(e));
    }
    nlohmann::ordered_json doc;
    doc["version"] = 1;
    doc["drained"] = std::move(drained);
    return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

bool parse_drain_state(std::string_view text, DrainSet& out, std::string& error) {
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
    out = std::move(set);
    return true;
}

bool load_drain_state(const std::string& path, DrainSet& out, std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            out = DrainSet{};  // nothing drained yet
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
    if (!parse_drain_state(text, out, why)) {
        error = path + ": " + why;
        return false;
    }
    return true;
}

bool save_drain_state(const std::string& path, const DrainSet& set, std::string& error) {
    const std::string text = drain_state_json(set);
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
