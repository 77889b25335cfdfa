// zone/'s names for the ldns handles, which are defined one layer down in dnssec/.
#pragma once

#include "steerdns/dnssec/ldns_ptr.h"

namespace steerdns::zone {

using dnssec::BufferPtr;
using dnssec::PktPtr;
using dnssec::RdfPtr;
using dnssec::RrPtr;

}  // namespace steerdns::zone
