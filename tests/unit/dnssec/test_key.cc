// DNSSEC key files: what `steerdns keys create` writes reads back (with BIND's timing comments),
// the DS we print is what ldns-key2ds prints for the same key, and RRSIGs verify.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.h"
#include "steerdns/cli/keys.h"
#include "steerdns/dnssec/key.h"
#include "steerdns/dnssec/keygen.h"
#include "steerdns/dnssec/signer.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

constexpr int64_t kNow = 1796558400;  // 2026-12-06 12:00:00 UTC

std::vector<dnssec::Key> make_keys(const TempDir& dir, int algorithm, bool ksk_zsk) {
    dnssec::KeygenRequest r;
    r.zone = "LB.Example.Test";
    r.dir = dir.file("keys");
    r.algorithm = algorithm;
    r.ksk_zsk = ksk_zsk;
    r.now = kNow;
    std::vector<std::string> written;
    std::string error;
    REQUIRE_MESSAGE(dnssec::create_keys(r, written, error), error);
    std::vector<dnssec::Key> keys;
    REQUIRE_MESSAGE(dnssec::read_key_dir(r.dir, "lb.example.test", true, keys, error), error);
    return keys;
}

std::string run(const std::string& command) {
    std::string out;
    const std::unique_ptr<FILE, int (*)(FILE*)> p(popen(command.c_str(), "r"), &pclose);
    REQUIRE(p);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p.get()) != nullptr) out.append(buf);
    return out;
}

// "a  b\tc" -> "a b c", no final newline: DS lines compared whatever the spacing.
std::string squeeze(const std::string& s) {
    std::istringstream in(s);
    std::string word, out;
    while (in >> word) {
        if (!out.empty()) out.push_back(' ');
        out.append(word);
    }
    return out;
}

}  // namespace

TEST_CASE("keys create: a CSK per algorithm reads back with its private part and timing") {
    for (int algorithm : {13, 15, 8}) {
        CAPTURE(algorithm);
        TempDir dir;
        const std::vector<dnssec::Key> keys = make_keys(dir, algorithm, false);
        REQUIRE(keys.size() == 1);
        const dnssec::Key& k = keys[0];
        CHECK(k.zone == "lb.example.test.");
        CHECK(k.flags == 257);
        CHECK(k.sep());
        CHECK(k.algorithm == algorithm);
        CHECK(k.private_key != nullptr);
        CHECK(k.timing.created == kNow);
        CHECK(k.timing.publish == kNow);
        CHECK(k.timing.activate == kNow);
        CHECK(!k.timing.inactive);
        CHECK(k.active(kNow));
        CHECK(!k.active(kNow - 1));
    }
}

TEST_CASE("keys create --ksk-zsk: a KSK and a ZSK") {
    TempDir dir;
    const std::vector<dnssec::Key> keys = make_keys(dir, 13, true);
    REQUIRE(keys.size() == 2);
    int ksk = 0, zsk = 0;
    for (const dnssec::Key& k : keys) (k.flags == 257 ? ksk : zsk) += k.flags == 256 || k.sep();
    CHECK(ksk == 1);
    CHECK(zsk == 1);
}

TEST_CASE("the DS we print is ldns-key2ds -n -2's for the same key") {
    TempDir dir;
    const std::vector<dnssec::Key> keys = make_keys(dir, 13, false);
    REQUIRE(keys.size() == 1);
    const std::string ours = dnssec::ds_record(keys[0], 3600);
    const std::string theirs = run("ldns-key2ds -n -2 '" + keys[0].file + "' 2>&1");
    // ldns-key2ds keeps the .key file's TTL (3600, as we write it).
    CHECK(squeeze(ours) == squeeze(theirs));
    CHECK(ours.find("IN\tDS\t") != std::string::npos);

    std::ostringstream out, err;
    CHECK(cli::run_keys_ds(dir.file("keys"), kNow, out, err) == 0);
    CHECK(squeeze(out.str()) == squeeze(theirs));
}

TEST_CASE("timing metadata: Publish, Activate, Inactive and Delete are honoured") {
    TempDir dir;
    const std::vector<dnssec::Key> made = make_keys(dir, 13, false);
    REQUIRE(made.size() == 1);
    // Rewrite the .key file's timing the way dnssec-settime would.
    std::ifstream in(made[0].file);
    std::string line, record;
    while (std::getline(in, line))
        if (!line.empty() && line[0] != ';') record = line;
    in.close();
    std::ofstream(made[0].file, std::ios::trunc)
        << "; This is a key-signing key\n"
        << "; Created: 20261201000000 (Tue Dec  1 00:00:00 2026)\n"
        << "; Publish: 20261202000000 (Wed Dec  2 00:00:00 2026)\n"
        << "; Activate: 20261203000000 (Thu Dec  3 00:00:00 2026)\n"
        << "; Inactive: 20261204000000 (Fri Dec  4 00:00:00 2026)\n"
        << "; Delete: 20261205000000 (Sat Dec  5 00:00:00 2026)\n"
        << "; SyncPublish: 20261202000000\n"
        << record << "\n";
    dnssec::Key k;
    std::string error;
    REQUIRE_MESSAGE(dnssec::read_key(made[0].file, true, k, error), error);
    int64_t t = 0;
    REQUIRE(dnssec::parse_key_time("20261202000000", t));
    CHECK(k.timing.publish == t);
    CHECK(dnssec::format_key_time(t) == "20261202000000");
    const int64_t day = 86400;
    CHECK(!k.published(t - 1));
    CHECK(k.published(t));
    CHECK(!k.active(t));  // published, not yet active
    CHECK(k.active(t + day));
    CHECK(!k.active(t + 2 * day));  // inactive, still published
    CHECK(k.published(t + 2 * day));
    CHECK(!k.published(t + 3 * day));  // deleted

    std::ofstream(made[0].file, std::ios::trunc) << "; Publish: 2026120200000x\n" << record << "\n";
    CHECK(!dnssec::read_key(made[0].file, false, k, error));
    CHECK(error.find(":1: Publish: '2026120200000x' is not a time") != std::string::npos);
}

TEST_CASE("key directory errors name the file") {
    TempDir dir;
    std::vector<dnssec::Key> keys;
    std::string error;
    CHECK(!dnssec::read_key_dir(dir.file("missing"), "", false, keys, error));
    CHECK(error.find("missing: cannot read the key directory") != std::string::npos);
    make_keys(dir, 13, false);
    CHECK(!dnssec::read_key_dir(dir.file("keys"), "other.test", false, keys, error));
    CHECK(error.find("a key for lb.example.test., not for other.test.") != std::string::npos);
}

TEST_CASE("an RRSIG made by sign_rrset verifies with ldns") {
    for (int algorithm : {13, 15, 8}) {
        CAPTURE(algorithm);
        TempDir dir;
        const std::vector<dnssec::Key> keys = make_keys(dir, algorithm, false);
        dnssec::RrListPtr rrset(ldns_rr_list_new());
        for (const char* text : {"www.lb.example.test. 300 IN A 192.0.2.2",
                                 "www.lb.example.test. 300 IN A 192.0.2.1"}) {
            ldns_rr* rr = nullptr;
            REQUIRE(ldns_rr_new_frm_str(&rr, text, 0, nullptr, nullptr) == LDNS_STATUS_OK);
            ldns_rr_list_push_rr(rrset.get(), rr);
        }
        std::string error;
        const dnssec::RrPtr sig = dnssec::sign_rrset(
            rrset.get(), keys[0], {uint32_t(kNow - 3600), uint32_t(kNow + 86400)}, error);
        REQUIRE_MESSAGE(sig, error);
        dnssec::RrListPtr sigs(ldns_rr_list_new());
        ldns_rr_list_push_rr(sigs.get(), ldns_rr_clone(sig.get()));
        dnssec::RrListPtr dnskeys(ldns_rr_list_new());
        ldns_rr_list_push_rr(dnskeys.get(), ldns_rr_clone(keys[0].dnskey.get()));
        // ldns_verify_time: validity checked against kNow, not the wall clock.
        CHECK(ldns_verify_time(rrset.get(), sigs.get(), dnskeys.get(), kNow, nullptr) ==
              LDNS_STATUS_OK);
        CHECK(ldns_verify_time(rrset.get(), sigs.get(), dnskeys.get(), kNow + 2 * 86400, nullptr) !=
              LDNS_STATUS_OK);
    }
}
