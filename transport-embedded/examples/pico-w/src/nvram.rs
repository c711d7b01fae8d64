//! The CYW43439's NVRAM table for the Pico W's board: radio calibration and board
//! parameters the Wi-Fi firmware reads at boot, as `key=value` strings each ended by a NUL,
//! the table ended by two more. The same table as embassy's `cyw43-firmware/nvram_rp2040.txt`
//! (from the Pico SDK's cyw43-driver, `wifi_nvram_43439.h`); the cyw43-firmware crate ships
//! the firmware and country matrix but not this table.

use cyw43::{A4, Aligned};

/// The table as text.
const TEXT: &[u8] = concat!(
    "NVRAMRev=$Rev$\0",
    "manfid=0x2d0\0",
    "prodid=0x0727\0",
    "vendid=0x14e4\0",
    "devid=0x43e2\0",
    "boardtype=0x0887\0",
    "boardrev=0x1100\0",
    "boardnum=22\0",
    "macaddr=00:A0:50:b5:59:5e\0",
    "sromrev=11\0",
    "boardflags=0x00404001\0",
    "boardflags3=0x04000000\0",
    "xtalfreq=37400\0",
    "nocrc=1\0",
    "ag0=255\0",
    "aa2g=1\0",
    "ccode=ALL\0",
    "pa0itssit=0x20\0",
    "extpagain2g=0\0",
    "pa2ga0=-168,6649,-778\0",
    "AvVmid_c0=0x0,0xc8\0",
    "cckpwroffset0=5\0",
    "maxp2ga0=84\0",
    "txpwrbckof=6\0",
    "cckbw202gpo=0\0",
    "legofdmbw202gpo=0x66111111\0",
    "mcsbw202gpo=0x77711111\0",
    "propbw202gpo=0xdd\0",
    "ofdmdigfilttype=18\0",
    "ofdmdigfilttypebe=18\0",
    "papdmode=1\0",
    "papdvalidtest=1\0",
    "pacalidx2g=45\0",
    "papdepsoffset=-30\0",
    "papdendidx=58\0",
    "ltecxmux=0\0",
    "ltecxpadnum=0x0102\0",
    "ltecxfnsel=0x44\0",
    "ltecxgcigpio=0x01\0",
    "il0macaddr=00:90:4c:c5:12:38\0",
    "wl0id=0x431b\0",
    "deadman_to=0xffffffff\0",
    "muxenab=0x100\0",
    "spurconfig=0x3\0",
    "glitch_based_crsmin=1\0",
    "btc_mode=1\0",
    "\0\0",
)
.as_bytes();

/// The table as an array of its own length, so it can be aligned for the chip's 32-bit
/// loads (evaluated at build time; the `None` arm cannot be taken).
const ARRAY: [u8; TEXT.len()] = match TEXT.first_chunk() {
    Some(array) => *array,
    None => [0; TEXT.len()],
};

/// The table, aligned to 4 bytes as `cyw43::new` takes it.
pub static NVRAM: &Aligned<A4, [u8]> = &Aligned(ARRAY);
