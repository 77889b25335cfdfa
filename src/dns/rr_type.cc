#include "steerdns/dns/rr_type.h"

#include <algorithm>
#include <array>
#include <utility>

namespace steerdns::dns {
namespace {

// The types ldns 1.8 names (ldns_rr_type2str), in type order; tests/unit/test_rr_type.cc
// checks every type against ldns, so a type ldns learns shows up there.
constexpr std::pair<uint16_t, const char*> kNames[] = {
    {1, "A"},           {2, "NS"},       {3, "MD"},          {4, "MF"},      {5, "CNAME"},
    {6, "SOA"},         {7, "MB"},       {8, "MG"},          {9, "MR"},      {10, "NULL"},
    {11, "WKS"},        {12, "PTR"},     {13, "HINFO"},      {14, "MINFO"},  {15, "MX"},
    {16, "TXT"},        {17, "RP"},      {18, "AFSDB"},      {19, "X25"},    {20, "ISDN"},
    {21, "RT"},         {22, "NSAP"},    {23, "NSAP-PTR"},   {24, "SIG"},    {25, "KEY"},
    {26, "PX"},         {27, "GPOS"},    {28, "AAAA"},       {29, "LOC"},    {30, "NXT"},
    {31, "EID"},        {32, "NIMLOC"},  {33, "SRV"},        {34, "ATMA"},   {35, "NAPTR"},
    {36, "KX"},         {37, "CERT"},    {38, "A6"},         {39, "DNAME"},  {40, "SINK"},
    {41, "OPT"},        {42, "APL"},     {43, "DS"},         {44, "SSHFP"},  {45, "IPSECKEY"},
    {46, "RRSIG"},      {47, "NSEC"},    {48, "DNSKEY"},     {49, "DHCID"},  {50, "NSEC3"},
    {51, "NSEC3PARAM"}, {52, "TLSA"},    {53, "SMIMEA"},     {55, "HIP"},    {58, "TALINK"},
    {59, "CDS"},        {60, "CDNSKEY"}, {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"},
    {64, "SVCB"},       {65, "HTTPS"},   {99, "SPF"},        {104, "NID"},   {105, "L32"},
    {106, "L64"},       {107, "LP"},     {108, "EUI48"},     {109, "EUI64"}, {249, "TKEY"},
    {250, "TSIG"},      {251, "IXFR"},   {252, "AXFR"},      {253, "MAILB"}, {254, "MAILA"},
    {255, "ANY"},       {256, "URI"},    {257, "CAA"},       {32769, "DLV"},
};

static_assert(std::is_sorted(std::begin(kNames), std::end(kNames),
                             [](const auto& a, const auto& b) { return a.first < b.first; }));

}  // namespace

const char* rr_type_name(uint16_t type) {
    const auto* it =
        std::lower_bound(std::begin(kNames), std::end(kNames), type,
                         [](const auto& entry, uint16_t t) { return entry.first < t; });
    return it != std::end(kNames) && it->first == type ? it->second : nullptr;
}

void append_rr_type(std::string& out, uint16_t type) {
    if (const char* name = rr_type_name(type)) {
        out += name;
        return;
    }
    out += "TYPE";
    out += std::to_string(type);
}

std::string rr_type_text(uint16_t type) {
    std::string out;
    append_rr_type(out, type);
    return out;
}

}  // namespace steerdns::dns
