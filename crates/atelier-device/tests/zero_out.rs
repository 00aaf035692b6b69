//! `DirectDevice::zero_out` (the `BLKZEROOUT` ioctl) on real loop devices made by the test.

use atelier_device::{DirectDevice, SystemRoot, find};
use atelier_testkit::{LoopDevice, LoopOptions, device_tier};

const MIB: u64 = 1 << 20;

fn open(dev: &LoopDevice, writable: bool) -> DirectDevice {
    let planned = find(&SystemRoot::live(), &dev.name())
        .expect("sysfs")
        .expect("the loop device is listed");
    DirectDevice::open(dev.path(), &planned, writable).expect("open the loop device")
}

#[test]
fn zero_out_zeroes_exactly_the_range() {
    if !device_tier(&[]) {
        return;
    }
    for sector in [512u32, 4096] {
        let dev = LoopDevice::with(LoopOptions {
            sector_size: Some(sector),
            ..LoopOptions::new(16 * MIB)
        });
        dev.fill(1 << 20, |_| vec![0xFF; 1 << 20]);
        let direct = open(&dev, true);
        // A range that starts and ends inside 1 MiB blocks, on sector boundaries.
        let (offset, len) = (MIB + u64::from(sector), 3 * MIB + 2 * u64::from(sector));
        direct.zero_out(offset, len).expect("BLKZEROOUT");
        // Nothing to do for an empty range.
        direct.zero_out(0, 0).expect("empty range");
        drop(direct);
        let data = dev.read_all();
        let (start, end) = (offset as usize, (offset + len) as usize);
        assert!(data[..start].iter().all(|&b| b == 0xFF), "before the range");
        assert!(data[start..end].iter().all(|&b| b == 0), "the range");
        assert!(data[end..].iter().all(|&b| b == 0xFF), "after the range");
    }
}

#[test]
fn zero_out_refuses_bad_ranges() {
    if !device_tier(&[]) {
        return;
    }
    let dev = LoopDevice::with(LoopOptions {
        sector_size: Some(4096),
        ..LoopOptions::new(8 * MIB)
    });
    dev.fill(1 << 20, |_| vec![0xAB; 1 << 20]);
    let direct = open(&dev, true);
    let misaligned = direct.zero_out(512, 4096).unwrap_err();
    assert_eq!(misaligned.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        misaligned.to_string().contains("not aligned"),
        "{misaligned}"
    );
    let past_end = direct.zero_out(4 * MIB, 8 * MIB).unwrap_err();
    assert!(past_end.to_string().contains("past the end"), "{past_end}");
    assert!(direct.zero_out(u64::MAX - 4095, 4096).is_err());
    drop(direct);
    // Opened read-only: the kernel refuses the ioctl.
    let read_only = open(&dev, false);
    assert!(read_only.zero_out(0, 4096).is_err());
    drop(read_only);
    assert!(
        dev.read_all().iter().all(|&b| b == 0xAB),
        "nothing was zeroed"
    );
}
