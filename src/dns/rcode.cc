#include "steerdns/dns/wire.h"

namespace steerdns::dns {

const char* rcode_name(uint16_t rcode) {
    switch (static_cast<Rcode>(rcode)) {
        case Rcode::noerror:
            return "NOERROR";
        case Rcode::formerr:
            return "FORMERR";
        case Rcode::servfail:
            return "SERVFAIL";
        case Rcode::nxdomain:
            return "NXDOMAIN";
        case Rcode::notimp:
            return "NOTIMP";
        case Rcode::refused:
            return "REFUSED";
        case Rcode::notauth:
            return "NOTAUTH";
        case Rcode::badvers:
            return "BADVERS";
    }
    return nullptr;
}

}  // namespace steerdns::dns
