// `steerdns keys create` and `steerdns keys ds`: DNSSEC keys for a zone, and the DS records
// its parent needs.
#pragma once

#include <ostream>
#include <string>

#include "steerdns/dnssec/keygen.h"

namespace steerdns::cli {

// Prints the files written and the DS record(s) to give the parent. 0, or 1 with the reason.
int run_keys_create(const dnssec::KeygenRequest& request, std::ostream& out, std::ostream& err);

// `path`: a signed zone file (*.json: its "dnssec" "keys"), a key directory (every K*.key in it,
// all for one zone) or one .key file. Prints one
// DS (SHA-256) per key-signing key that is published now or will be, nothing else on stdout,
// so `steerdns keys ds DIR > ds.txt` is what the parent takes. 0, or 1 with the reason.
int run_keys_ds(const std::string& path, int64_t now, std::ostream& out, std::ostream& err);

}  // namespace steerdns::cli
