#include "steerdns/dnssec/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "steerdns/dnssec/key.h"
#include "steerdns/dnssec/ldns_ptr.h"
#include "steerdns/util/fd.h"

namespace steerdns::dnssec {
namespace {

using CString = std::unique_ptr<char, decltype(&std::free)>;

bool write_new_file(const std::string& path, const std::string& text, mode_t mode,
                    std::string& error) {
    util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = path + ": " + std::strerror(errno);
            return false;
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

// BIND's own header, so dnssec-settime and a human both read the timing.
std::string key_file_text(const ldns_rr* dnskey, uint16_t flags, uint16_t tag,
                          const std::string& zone, int64_t now) {
    const std::string stamp = format_key_time(now);
    std::string out = "; This is a ";
    out.append((flags & kFlagSep) != 0 ? "key-signing" : "zone-signing")
        .append(" key, keyid ")
        .append(std::to_string(tag))
        .append(", for ")
        .append(zone)
        .append("\n; Created: ")
        .append(stamp)
        .append("\n; Publish: ")
        .append(stamp)
        .append("\n; Activate: ")
        .append(stamp)
        .append("\n");
    const CString rr(ldns_rr2str(dnskey), &std::free);
    out.append(rr ? rr.get() : "");
    return out;
}

bool create_one(const KeygenRequest& r, const std::string& zone, uint16_t flags,
                std::vector<std::string>& written, std::string& error) {
    const uint16_t bits = r.algorithm == kRsaSha256 ? 2048 : 256;
    KeyPtr key(ldns_key_new_frm_algorithm(static_cast<ldns_signing_algorithm>(r.algorithm), bits));
    if (!key) {
        error = "cannot generate a key with algorithm " + std::to_string(r.algorithm);
        return false;
    }
    ldns_key_set_pubkey_owner(key.get(), ldns_dname_new_frm_str(zone.c_str()));
    ldns_key_set_flags(key.get(), flags);
    const RrPtr dnskey(ldns_key2rr(key.get()));
    if (!dnskey) {
        error = "cannot build the DNSKEY record of the new key";
        return false;
    }
    ldns_rr_set_ttl(dnskey.get(), 3600);
    const uint16_t tag = ldns_calc_keytag(dnskey.get());
    ldns_key_set_keytag(key.get(), tag);
    char base[64];
    std::snprintf(base, sizeof base, "+%03d+%05u", r.algorithm, static_cast<unsigned>(tag));
    std::string path = r.dir;
    path.append("/K").append(zone).append(base);
    const CString priv(ldns_key2str(key.get()), &std::free);
    if (!priv) {
        error = "cannot write the new private key in text";
        return false;
    }
    if (!write_new_file(path + ".private", priv.get(), 0600, error) ||
        !write_new_file(path + ".key", key_file_text(dnskey.get(), flags, tag, zone, r.now), 0644,
                        error))
        return false;
    written.push_back(path + ".key");
    return true;
}

}  // namespace

bool create_keys(const KeygenRequest& r, std::vector<std::string>& written, std::string& error) {
    written.clear();
    if (!signing_algorithm_supported(r.algorithm)) {
        error =
            "algorithm " + std::to_string(r.algorithm) +
            " is not one steerdns signs with: 13 (ECDSAP256SHA256), 15 (ED25519) or 8 (RSASHA256)";
        return false;
    }
    std::string zone;
    for (const char c : r.zone)
        zone.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (zone.empty() || zone.back() != '.') zone.push_back('.');
    const RdfPtr check(ldns_dname_new_frm_str(zone.c_str()));
    if (!check) {
        error = "'" + r.zone + "' is not a domain name";
        return false;
    }
    // Parents as mkdir -p makes them; the key directory itself 0700 (private keys).
    const std::filesystem::path dir(r.dir);
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(r.dir.c_str(), 0700) != 0 && errno != EEXIST) {
        error = r.dir + ": cannot create the key directory: " + std::strerror(errno);
        return false;
    }
    if (r.ksk_zsk)
        return create_one(r, zone, kFlagZone | kFlagSep, written, error) &&
               create_one(r, zone, kFlagZone, written, error);
    return create_one(r, zone, kFlagZone | kFlagSep, written, error);
}

}  // namespace steerdns::dnssec
