#include "steerdns/dnssec/key.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <sstream>

#include "steerdns/util/file.h"

namespace steerdns::dnssec {
namespace {

struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

struct DirClose {
    void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirClose>;

// Key files are a few kilobytes; anything larger is not one.
constexpr uint64_t kMaxKeyFile = 64 * 1024;

std::string lowercase(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string absolute(std::string zone) {
    zone = lowercase(std::move(zone));
    if (zone.empty() || zone.back() != '.') zone.push_back('.');
    return zone;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    const size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// "; Publish: 20261206120000 (Sun Dec  6 12:00:00 2026)" -> timing.publish.
bool read_timing_comment(const std::string& line, KeyTiming& t, std::string& error) {
    const std::string body = trim(line.substr(1));
    const size_t colon = body.find(':');
    if (colon == std::string::npos) return true;  // an ordinary comment
    const std::string field = body.substr(0, colon);
    std::optional<int64_t>* slot = nullptr;
    if (field == "Created") slot = &t.created;
    if (field == "Publish") slot = &t.publish;
    if (field == "Activate") slot = &t.activate;
    if (field == "Inactive") slot = &t.inactive;
    if (field == "Delete") slot = &t.remove;
    if (slot == nullptr) return true;  // Revoke, SyncPublish, ...: not ours to act on
    std::string value = trim(body.substr(colon + 1));
    value = value.substr(0, value.find(' '));
    int64_t when = 0;
    if (!parse_key_time(value, when)) {
        error = field;
        error.append(": '").append(value).append("' is not a time YYYYMMDDHHMMSS");
        return false;
    }
    *slot = when;
    return true;
}

// The public key's bytes (DNSKEY rdata field 3), to tell a .private from another key's.
bool same_public_key(const ldns_rr* a, const ldns_rr* b) {
    if (ldns_rr_rd_count(a) < 4 || ldns_rr_rd_count(b) < 4) return false;
    return ldns_rdf_compare(ldns_rr_rdf(a, 3), ldns_rr_rdf(b, 3)) == 0;
}

bool read_private(Key& key, std::string& error) {
    std::string path = key.file.substr(0, key.file.size() - 4);
    path.append(".private");
    FilePtr f(std::fopen(path.c_str(), "r"));
    if (!f) {
        error = path;
        error.append(": cannot read the private key: ").append(std::strerror(errno));
        return false;
    }
    ldns_key* raw = nullptr;
    const ldns_status st = ldns_key_new_frm_fp(&raw, f.get());
    KeyPtr priv(raw);
    if (st != LDNS_STATUS_OK || !priv) {
        error = path;
        error.append(": not a private key ldns can read: ").append(ldns_get_errorstr_by_id(st));
        return false;
    }
    if (static_cast<int>(ldns_key_algorithm(priv.get())) != key.algorithm) {
        error = path;
        error.append(": algorithm ")
            .append(std::to_string(static_cast<int>(ldns_key_algorithm(priv.get()))))
            .append(" does not match the .key file's ")
            .append(std::to_string(key.algorithm));
        return false;
    }
    ldns_key_set_pubkey_owner(priv.get(), ldns_rdf_clone(ldns_rr_owner(key.dnskey.get())));
    ldns_key_set_flags(priv.get(), key.flags);
    const RrPtr derived(ldns_key2rr(priv.get()));
    if (!derived || !same_public_key(derived.get(), key.dnskey.get())) {
        error = path;
        error.append(": this private key does not belong to ").append(key.file);
        return false;
    }
    ldns_key_set_keytag(priv.get(), key.tag);
    key.private_key = std::move(priv);
    return true;
}

}  // namespace

bool signing_algorithm_supported(int algorithm) {
    return algorithm == kEcdsaP256Sha256 || algorithm == kEd25519 || algorithm == kRsaSha256;
}

std::string algorithm_name(int algorithm) {
    switch (algorithm) {
        case kEcdsaP256Sha256:
            return "ECDSAP256SHA256";
        case kEd25519:
            return "ED25519";
        case kRsaSha256:
            return "RSASHA256";
        default:
            return std::to_string(algorithm);
    }
}

bool Key::published(int64_t now) const {
    if (timing.publish && now < *timing.publish) return false;
    return !(timing.remove && now >= *timing.remove);
}

bool Key::active(int64_t now) const {
    if (!published(now)) return false;
    if (timing.activate && now < *timing.activate) return false;
    return !(timing.inactive && now >= *timing.inactive);
}

bool parse_key_time(const std::string& text, int64_t& out) {
    if (text.size() != 14 || !std::all_of(text.begin(), text.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        }))
        return false;
    std::tm tm{};
    auto num = [&](size_t pos, size_t len) { return std::stoi(text.substr(pos, len)); };
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(4, 2) - 1;
    tm.tm_mday = num(6, 2);
    tm.tm_hour = num(8, 2);
    tm.tm_min = num(10, 2);
    tm.tm_sec = num(12, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return false;
    out = static_cast<int64_t>(timegm(&tm));
    return true;
}

std::string format_key_time(int64_t t) {
    const auto tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

bool read_key(const std::string& key_path, bool with_private, Key& out, std::string& error) {
    out = Key{};
    out.file = key_path;
    std::string text;
    if (!util::read_file(key_path, text, error, kMaxKeyFile)) {
        error = key_path + ": cannot read: " + error;
        return false;
    }
    if (text.size() > kMaxKeyFile) {
        error = key_path + ": too large for a key file";
        return false;
    }
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty()) continue;
        const std::string where = key_path + ":" + std::to_string(number) + ": ";
        if (t[0] == ';') {
            if (!read_timing_comment(t, out.timing, error)) {
                error = where + error;
                return false;
            }
            continue;
        }
        if (out.dnskey) {
            error = where + "a second record; a .key file holds one DNSKEY";
            return false;
        }
        ldns_rr* rr = nullptr;
        const ldns_status st = ldns_rr_new_frm_str(&rr, t.c_str(), 3600, nullptr, nullptr);
        out.dnskey.reset(rr);
        if (st != LDNS_STATUS_OK) {
            error = where + "not a DNSKEY record: " + ldns_get_errorstr_by_id(st);
            return false;
        }
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(rr) != 4) {
            error = where + "not a DNSKEY record";
            return false;
        }
    }
    if (!out.dnskey) {
        error = key_path + ": no DNSKEY record in the file";
        return false;
    }
    ldns_rr* rr = out.dnskey.get();
    out.flags = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
    out.algorithm = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
    out.tag = ldns_calc_keytag(rr);
    const std::unique_ptr<char, decltype(&std::free)> owner(ldns_rdf2str(ldns_rr_owner(rr)),
                                                            &std::free);
    out.zone = absolute(owner ? owner.get() : "");
    if ((out.flags & kFlagZone) == 0) {
        error = key_path + ": flags " + std::to_string(out.flags) +
                " lack the zone key bit (256 for a ZSK, 257 for a KSK)";
        return false;
    }
    if (ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)) != 3) {
        error = key_path + ": protocol must be 3 (RFC 4034 2.1.2)";
        return false;
    }
    if (!signing_algorithm_supported(out.algorithm)) {
        error = key_path + ": algorithm " + std::to_string(out.algorithm) +
                " is not one steerdns signs with (13 ECDSAP256SHA256, 15 ED25519, 8 RSASHA256)";
        return false;
    }
    if (out.timing.activate && out.timing.inactive &&
        *out.timing.inactive <= *out.timing.activate) {
        error = key_path + ": Inactive is not after Activate";
        return false;
    }
    return !with_private || read_private(out, error);
}

bool read_key_dir(const std::string& dir, const std::string& zone, bool with_private,
                  std::vector<Key>& out, std::string& error) {
    out.clear();
    DirPtr d(opendir(dir.c_str()));
    if (!d) {
        error = dir + ": cannot read the key directory: " + std::strerror(errno);
        return false;
    }
    std::vector<std::string> names;
    while (const dirent* e = readdir(d.get())) {
        const std::string name = e->d_name;
        if (name.size() > 5 && name[0] == 'K' && name.ends_with(".key")) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    std::string want = zone.empty() ? std::string() : absolute(zone);
    for (const std::string& name : names) {
        Key key;
        std::string path = dir;
        path.append("/").append(name);
        if (!read_key(path, with_private, key, error)) return false;
        if (want.empty()) want = key.zone;  // no zone given: the first key's
        if (key.zone != want) {
            error = path + ": a key for " + key.zone + ", not for " + want +
                    " (keep one directory per zone)";
            return false;
        }
        out.push_back(std::move(key));
    }
    if (out.empty() && want.empty()) {
        error = dir + ": no key files (K<zone>.+NNN+TTTTT.key) in it";
        return false;
    }
    if (out.empty()) {
        error = dir + ": no key for " + want + " (K" + want + "+NNN+TTTTT.key); create one with " +
                "'steerdns keys create " + want + " --dir " + dir + "'";
        return false;
    }
    return true;
}

std::string ds_record(const Key& key, uint32_t ttl) {
    const RrPtr ds(ldns_key_rr2ds(key.dnskey.get(), LDNS_SHA256));
    if (!ds) return {};
    ldns_rr_set_ttl(ds.get(), ttl);
    const std::unique_ptr<char, decltype(&std::free)> text(ldns_rr2str(ds.get()), &std::free);
    std::string s = text ? text.get() : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace steerdns::dnssec
