#!/usr/bin/perl
# Writes a small MaxMind DB (the GeoIP2 City layout: country.iso_code, continent.code) for the
# geo tests, so they need no downloaded GeoLite2 file. Usage: write_test_mmdb.pl OUT.mmdb
# Needs Debian's libmaxmind-db-writer-perl.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT.mmdb\n";

my %types = (
    country   => 'map',
    continent => 'map',
    iso_code  => 'utf8_string',
    code      => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 24,
    database_type         => 'steerdns-Test-City',
    languages             => ['en'],
    description           => { en => 'steerdns unit test database' },
    map_key_type_callback => sub { $types{ $_[0] } },
    # The test networks are documentation and shared address space, which the writer drops
    # by default.
    remove_reserved_networks => 0,
);

sub place { return { country => { iso_code => $_[0] }, continent => { code => $_[1] } } }

# Keep in step with tests/unit/lb/test_geoip.cc, tests/unit/zone/test_steering.cc and
# tests/e2e/test_policies.py.
$tree->insert_network('203.0.113.0/24',    place('US', 'NA'));
$tree->insert_network('198.51.100.0/25',   place('FR', 'EU'));
$tree->insert_network('192.0.2.0/26',      place('JP', 'AS'));
$tree->insert_network('100.64.0.0/10',     place('BR', 'SA'));
$tree->insert_network('2001:db8:200::/48', place('DE', 'EU'));
$tree->insert_network('2001:db8:300::/40', place('US', 'NA'));
# An entry with a continent and no country (as GeoLite2 has for some anycast ranges).
$tree->insert_network('2001:db8:f000::/36', { continent => { code => 'EU' } });

open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";
