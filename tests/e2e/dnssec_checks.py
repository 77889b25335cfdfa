"""What the DNSSEC tests share: pairing each RRset of a response section with its RRSIGs,
validating them with dnspython against the zone's DNSKEY, and NSEC coverage in canonical
order."""

import dns.dnssec
import dns.rdatatype

RRSIG = dns.rdatatype.RRSIG


def rrsets_with_sigs(section):
    """(rrset, its RRSIG rrset or None) for each non-RRSIG rrset of a section."""
    sigs = {(r.name, r.covers): r for r in section if r.rdtype == RRSIG}
    return [(r, sigs.get((r.name, r.rdtype))) for r in section if r.rdtype != RRSIG]


def validate_all(t, resp, keys, what, sections=("answer", "authority")):
    """Every RRset of the sections carries an RRSIG that validates against `keys` (a
    referral's NS aside: the child's, unsigned, RFC 4035 2.2); returns how many did."""
    if resp is None:
        t.fail(f"{what}: answered")
        return 0
    count = 0
    for sec in sections:
        for rrset, sig in rrsets_with_sigs(getattr(resp, sec)):
            if sec == "authority" and rrset.rdtype == dns.rdatatype.NS:
                continue
            if sig is None:
                t.fail(f"{what}: {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} has an RRSIG")
                continue
            try:
                dns.dnssec.validate(rrset, sig, keys)
                count += 1
            except dns.dnssec.ValidationFailure as e:
                t.fail(f"{what}: {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} validates",
                       str(e))
    return count


def covers(nsec_rrset, name, origin):
    """True when the NSEC at nsec_rrset.name covers (or is) `name` in canonical order; the
    last NSEC of the zone `origin` covers everything after its owner."""
    owner = nsec_rrset.name
    nxt = nsec_rrset[0].next
    if nxt == origin:
        return owner < name
    return owner < name < nxt
