//! SNMP v2c and v3 polling (snmp2): system group, IF-MIB, ENTITY-MIB, HOST-RESOURCES.
