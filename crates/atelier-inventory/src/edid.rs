//! EDID (VESA E-EDID 1.3 / 1.4) parsing.
