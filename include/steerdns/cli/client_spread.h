// Where `steerdns simulate` sends its queries from: client networks with weights, each spread
// evenly over its addresses, so N queries stand for the traffic of those networks without a
// random source that would make two runs differ.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "steerdns/lb/geo_map.h"

namespace steerdns::cli {

struct ClientSource {
    lb::Cidr net;  // one address is a /32 or /128
    double weight = 1;
};

// "198.51.100.0/24", "2001:db8::/48" or one address ("198.51.100.7").
bool parse_client_source(std::string_view text, ClientSource& out, std::string& error);

// A --clients-file: one `ADDR_OR_PREFIX [WEIGHT]` a line (weight 1 when left out, > 0 when
// given); blank lines and `#` comments are skipped. Errors name the line.
bool parse_clients_file(std::string_view text, std::vector<ClientSource>& out, std::string& error);

// Hands out one client address per query. Sources take turns by stride scheduling: the next
// query goes to the source whose (queries so far + 1/2) / weight is least, ties to the first
// listed, so sources are interleaved (equal weights: strictly in turn) and after any number of
// queries each has its share to within one query. Inside a source
// the k-th query takes the host part k with its bits reversed: a /24 gets every address once
// per 256 queries, and a /8 is spread over all of its /24s long before it runs out of queries.
class ClientSpread {
  public:
    explicit ClientSpread(std::vector<ClientSource> sources);  // not empty; weights > 0

    // The next query's client (`address`: 4 or 16 bytes, network order). `source` is the
    // index of the ClientSource it came from.
    void next(uint8_t& family, uint8_t (&address)[16], size_t& source);

    const std::vector<ClientSource>& sources() const { return sources_; }

  private:
    using Turn = std::pair<double, size_t>;  // (pass, source): the least pass goes next
    std::vector<ClientSource> sources_;
    std::vector<uint64_t> drawn_;  // queries each source has had so far
    std::priority_queue<Turn, std::vector<Turn>, std::greater<Turn>> turns_;
};

}  // namespace steerdns::cli
