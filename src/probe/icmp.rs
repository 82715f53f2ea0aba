//! ICMP echo over IPv4 and IPv6 (surge-ping), one shared socket per family.
