//! SMBIOS / DMI tables.
