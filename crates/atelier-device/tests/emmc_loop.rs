//! `BLKSECDISCARD` through the kernel on a loop device made by the test: a loop device has no
//! secure erase, so the kernel answers EOPNOTSUPP — both to the non-destructive probe and to
//! the erase itself — and the bench turns it into its typed error, with nothing erased.

use atelier_device::emmc::{self, EmmcError};
use atelier_testkit::{LoopDevice, LoopOptions, canary_block, device_tier, sectors_with_canary};

const MIB: u64 = 1 << 20;

#[test]
fn loop_device_has_no_secure_erase_and_nothing_is_erased() {
    if !device_tier(&[]) {
        return;
    }
    let dev = LoopDevice::with(LoopOptions::new(8 * MIB));
    dev.fill(4096, canary_block);
    let before = sectors_with_canary(&dev.read_all());
    assert!(before > 0);

    // The probe asks without erasing: EOPNOTSUPP → not supported.
    assert_eq!(emmc::secure_erase_supported(dev.path()), Ok(false));

    // The erase itself: the typed error, naming the device and the next step.
    let err = emmc::secure_erase_all(dev.path()).unwrap_err();
    assert_eq!(
        err,
        EmmcError::SecureEraseUnsupported {
            device: dev.path_str()
        }
    );
    let text = err.to_string();
    assert!(text.contains("nothing was erased"), "{text}");
    assert!(text.contains("--method overwrite"), "{text}");

    // Nothing was erased.
    assert_eq!(sectors_with_canary(&dev.read_all()), before);
}

#[test]
fn a_device_that_cannot_be_opened_is_an_os_error() {
    let err =
        emmc::secure_erase_all(std::path::Path::new("/nonexistent/atelier/mmcblk9")).unwrap_err();
    assert!(matches!(err, EmmcError::Os { .. }), "{err:?}");
}
