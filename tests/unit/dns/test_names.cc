// The one record-type table (dns/rr_type) against ldns, which it replaced in the query log and
// compile's messages, and the /metrics labels that read it; the one name renderer
// (dns/name) with and without the query log's extra escapes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "steerdns/control/counters.h"
#include "steerdns/control/metrics.h"
#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/zone/ldns_ptr.h"

using namespace steerdns;

namespace {

std::string ldns_type_text(uint16_t type) {
    struct Free {
        void operator()(char* p) const { std::free(p); }  // ldns hands out malloc'ed strings
    };
    const std::unique_ptr<char, Free> s(ldns_rr_type2str(static_cast<ldns_rr_type>(type)));
    return s ? s.get() : "(null)";
}

std::vector<uint8_t> wire(std::initializer_list<std::string> labels) {
    std::vector<uint8_t> out;
    for (const std::string& l : labels) {
        out.push_back(static_cast<uint8_t>(l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.push_back(0);
    return out;
}

}  // namespace

TEST_CASE("rr types: every type is spelled as ldns spells it") {
    size_t named = 0;
    for (uint32_t t = 0; t <= 0xFFFF; ++t) {
        const auto type = static_cast<uint16_t>(t);
        const std::string text = dns::rr_type_text(type);
        if (text != ldns_type_text(type)) {
            FAIL_CHECK("type " << t << ": " << text << " vs ldns " << ldns_type_text(type));
        }
        if (dns::rr_type_name(type) != nullptr) ++named;
    }
    CHECK(named == 79);
    CHECK(std::string(dns::rr_type_name(dns::type::AAAA)) == "AAAA");
    CHECK(dns::rr_type_name(65280) == nullptr);
    CHECK(dns::rr_type_text(65280) == "TYPE65280");
    std::string out = "qtype=";
    dns::append_rr_type(out, 23);
    CHECK(out == "qtype=NSAP-PTR");
}

TEST_CASE("metrics: qtype labels come from the type table, in kCountedQtypes order") {
    const std::vector<std::string> expected = {"A",  "NS",     "CNAME", "SOA",   "PTR",
                                               "MX", "TXT",    "AAAA",  "SRV",   "NAPTR",
                                               "DS", "DNSKEY", "SVCB",  "HTTPS", "ANY"};
    REQUIRE(expected.size() == control::kQtypeSlots - 1);
    for (size_t slot = 0; slot < expected.size(); ++slot) {
        CHECK(control::qtype_label(slot) == expected[slot]);
        CHECK(control::qtype_slot(control::kCountedQtypes[slot]) == slot);
    }
    CHECK(control::qtype_label(control::kQtypeSlots - 1) == "other");
}

TEST_CASE("names: presentation form, and the query log's extra escapes") {
    const std::vector<uint8_t> plain = wire({"www", "lb", "example", "test"});
    CHECK(dns::name_to_text(plain) == "www.lb.example.test.");
    CHECK(dns::name_to_text(wire({})) == ".");
    CHECK(dns::name_to_text({}) == ".");

    // A label holding a dot, a backslash, a quote, '=', a space and a byte above '~'.
    const std::vector<uint8_t> odd = wire({std::string("a.b\\c\"d=e f\xff"), "test"});
    CHECK(dns::name_to_text(odd) == "a\\.b\\\\c\"d=e\\032f\\255.test.");
    std::string line = "qname=";
    dns::append_name_text(line, odd, "\"=\\");
    CHECK(line == "qname=a\\.b\\092c\\034d\\061e\\032f\\255.test.");

    // A truncated name renders what is there, never reading past the end.
    const std::vector<uint8_t> cut = {5, 'a', 'b'};
    CHECK(dns::name_to_text(cut) == "ab.");
}
