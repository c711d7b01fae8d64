//! What the firmware is built for: the Wi-Fi network and the LWA product, from environment
//! variables at build time (see README.md), and the servers it talks to.

use lwa_embedded::core::endpoint::{Endpoint, Region};
use lwa_embedded::core::session::{Config, Linking};

/// The Wi-Fi network's name.
pub const WIFI_SSID: &str = env!(
    "WIFI_SSID",
    "set WIFI_SSID to the Wi-Fi network's name when building (see README.md)"
);
/// The Wi-Fi network's WPA2/WPA3 passphrase; empty for an open network.
pub const WIFI_PASSWORD: &str = env!(
    "WIFI_PASSWORD",
    "set WIFI_PASSWORD to the Wi-Fi passphrase when building, or to nothing for an open network (see README.md)"
);
/// The security profile's client ID (Amazon developer console, Login with Amazon).
pub const LWA_CLIENT_ID: &str = env!(
    "LWA_CLIENT_ID",
    "set LWA_CLIENT_ID to the product's client ID (amzn1.application-oa2-client.…) when building (see README.md)"
);
/// The AVS product ID the code pair is for.
pub const LWA_PRODUCT_ID: &str = env!(
    "LWA_PRODUCT_ID",
    "set LWA_PRODUCT_ID to the AVS product ID when building (see README.md)"
);
/// This device's serial number (DSN) for code-based linking.
pub const LWA_DEVICE_SERIAL: &str = env!(
    "LWA_DEVICE_SERIAL",
    "set LWA_DEVICE_SERIAL to this device's serial number when building (see README.md)"
);

/// The session: code-based linking for this product and device, the default refresh margin
/// (ten minutes before expiry).
pub const SESSION: Config<'static> = Config {
    linking: Some(Linking {
        product_id: LWA_PRODUCT_ID,
        device_serial_number: LWA_DEVICE_SERIAL,
    }),
    ..Config::new(LWA_CLIENT_ID)
};

/// The token endpoint: `api.amazon.com:443` (North America; `Region::Eu` and `Region::Fe` are
/// the other two).
pub const ENDPOINT: Endpoint<'static> = Endpoint::region(Region::Na);

/// Where the time comes from (SNTP, UDP port 123).
pub const NTP_SERVER: &str = "pool.ntp.org";

/// The trust anchors: lwa-embedded's curated set for LWA's hosts (DigiCert's and Amazon Trust
/// Services' roots and their announced successors; the crate's README lists them with their
/// fingerprints). A firmware update can add more.
pub static ANCHORS: &[lwa_embedded::tls::TrustAnchor<'static>] = lwa_embedded::tls::roots::LWA;
