#include "steerdns/cli/keys.h"

#include <sys/stat.h>

#include <filesystem>
#include <vector>

#include "steerdns/dnssec/key.h"
#include "steerdns/zone/zone_spec.h"

namespace steerdns::cli {
namespace {

// The parent copies the DS; its TTL is the parent's choice, an hour is the usual one.
constexpr uint32_t kDsTtl = 3600;

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A key-signing key the parent should point at: it is published now or will be.
bool wants_ds(const dnssec::Key& k, int64_t now) {
    return k.sep() && !(k.timing.remove && now >= *k.timing.remove);
}

}  // namespace

int run_keys_create(const dnssec::KeygenRequest& request, std::ostream& out, std::ostream& err) {
    std::vector<std::string> written;
    std::string error;
    if (!dnssec::create_keys(request, written, error)) {
        err << "steerdns keys create: " << error << "\n";
        return 1;
    }
    std::vector<dnssec::Key> keys;
    for (const std::string& path : written) {
        dnssec::Key k;
        if (!dnssec::read_key(path, true, k, error)) {
            err << "steerdns keys create: the new key does not read back: " << error << "\n";
            return 1;
        }
        out << "wrote " << path
            << " (and .private): " << (k.sep() ? (request.ksk_zsk ? "KSK" : "CSK") : "ZSK")
            << ", algorithm " << static_cast<int>(k.algorithm) << " "
            << dnssec::algorithm_name(k.algorithm) << ", key tag " << k.tag << "\n";
        keys.push_back(std::move(k));
    }
    out << "DS for the parent zone (also: steerdns keys ds " << request.dir << "):\n";
    for (const dnssec::Key& k : keys)
        if (k.sep()) out << dnssec::ds_record(k, kDsTtl) << "\n";
    return 0;
}

int run_keys_ds(const std::string& path, int64_t now, std::ostream& out, std::ostream& err) {
    std::vector<dnssec::Key> keys;
    std::string error;
    if (path.ends_with(".json")) {
        // A zone file: the keys of its "dnssec" object, relative to the file.
        zone::LoadResult loaded = zone::load_zone_file(path);
        if (!loaded.ok()) {
            for (const zone::Diagnostic& d : loaded.diags) err << d.to_string() << "\n";
            return 1;
        }
        if (!loaded.spec.dnssec) {
            err << "steerdns keys ds: " << path << ": the zone has no \"dnssec\" object\n";
            return 1;
        }
        const std::filesystem::path dir(loaded.spec.dnssec->keys.text);
        const std::string full =
            dir.is_absolute()
                ? dir.string()
                : (std::filesystem::path(path).parent_path() / dir).lexically_normal().string();
        if (!dnssec::read_key_dir(full, loaded.spec.origin.text, false, keys, error)) {
            err << "steerdns keys ds: " << error << "\n";
            return 1;
        }
    } else if (is_directory(path)) {
        if (!dnssec::read_key_dir(path, "", false, keys, error)) {
            err << "steerdns keys ds: " << error << "\n";
            return 1;
        }
    } else {
        dnssec::Key k;
        if (!dnssec::read_key(path, false, k, error)) {
            err << "steerdns keys ds: " << error << "\n";
            return 1;
        }
        keys.push_back(std::move(k));
    }
    size_t printed = 0;
    for (const dnssec::Key& k : keys) {
        if (!wants_ds(k, now)) continue;
        out << dnssec::ds_record(k, kDsTtl) << "\n";
        ++printed;
    }
    if (printed == 0) {
        err << "steerdns keys ds: " << path
            << ": no key-signing key (flags 257) that is or will be published; the parent's DS "
               "must point at one\n";
        return 1;
    }
    return 0;
}

}  // namespace steerdns::cli
