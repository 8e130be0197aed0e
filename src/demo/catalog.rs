//! Who and what the sample complaints are about: regions, dealers, customers and their
//! cars. Chinese-market flavoured (names and plates in Chinese characters, everything
//! machine-facing in ASCII) and drawn from a seeded generator, so a seed always gives
//! the same people.

use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use complaintflow_domain::InvalidValue;
use complaintflow_domain::events::{Customer, Vehicle};
use complaintflow_domain::values::{
    DealerCode, Label, Mileage, PhoneNumber, Plate, RegionCode, Vin,
};

/// Sales regions with, for each, three cities: (dealer code prefix, plate province).
const REGIONS: &[(&str, [(&str, &str); 3])] = &[
    ("EAST", [("SH", "沪"), ("HZ", "浙"), ("NJ", "苏")]),
    ("NORTH", [("BJ", "京"), ("TJ", "津"), ("SJ", "冀")]),
    ("SOUTH", [("GZ", "粤"), ("SZ", "粤"), ("XM", "闽")]),
    ("WEST", [("CD", "川"), ("CQ", "渝"), ("XA", "陕")]),
    ("CENTRAL", [("WH", "鄂"), ("CS", "湘"), ("ZZ", "豫")]),
    ("NORTHEAST", [("SY", "辽"), ("CC", "吉"), ("HB", "黑")]),
    ("NORTHWEST", [("LZ", "甘"), ("YC", "宁"), ("UR", "新")]),
    ("SOUTHWEST", [("KM", "云"), ("GY", "贵"), ("NN", "桂")]),
];

/// The most regions the catalogue can tell apart.
pub const MAX_REGIONS: usize = REGIONS.len();

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "建华", "晓东", "海燕", "志强", "雪梅", "国平",
];
const MODELS: &[&str] = &[
    "Sedan 1.5L",
    "Sedan 2.0T",
    "Compact SUV 1.4T",
    "Mid-size SUV 2.0T",
    "MPV 2.0T",
    "EV Crossover",
    "Hatchback 1.5L",
    "PHEV Sedan",
];
/// World manufacturer identifiers of joint-venture plants in China.
const WMIS: &[&str] = &["LSV", "LFV", "LGB", "LVS", "LBV"];
/// Characters a VIN may use (ISO 3779: no I, O, Q).
const VIN_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
/// Model-year codes 2019..=2025, the 10th character of a VIN.
const MODEL_YEARS: &[(u8, i16)] = &[
    (b'K', 2019),
    (b'L', 2020),
    (b'M', 2021),
    (b'N', 2022),
    (b'P', 2023),
    (b'R', 2024),
    (b'S', 2025),
];

/// One dealer ("4S" store) of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dealer {
    pub code: DealerCode,
    pub region: RegionCode,
    /// Province character of local plates.
    pub province: &'static str,
}

/// The number in the first dealer's code: the network starts with SH-0042 in EAST, the
/// dealer the README's examples use, so that they work on a demo as they are written.
const FIRST_DEALER_NUMBER: usize = 42;

/// The network: `dealers` dealers spread round-robin over `regions` regions.
pub(super) fn dealers(dealers: usize, regions: usize) -> Result<Vec<Dealer>, InvalidValue> {
    let regions = regions.clamp(1, MAX_REGIONS);
    (0..dealers.max(1))
        .map(|number| {
            let (region, cities) = REGIONS[number % regions];
            let (city, province) = cities[(number / regions) % cities.len()];
            Ok(Dealer {
                code: DealerCode::parse(format!("{city}-{:04}", number + FIRST_DEALER_NUMBER))?,
                region: RegionCode::parse(region)?,
                province,
            })
        })
        .collect()
}

/// A customer and the car the complaint is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub customer: Customer,
    pub vehicle: Vehicle,
    /// Index into the dealer list.
    pub dealer: usize,
}

pub(super) fn identity(rng: &mut ChaCha8Rng, network: &[Dealer]) -> Result<Identity, InvalidValue> {
    let dealer = rng.random_range(0..network.len());
    let surname = SURNAMES.choose(rng).copied().unwrap_or("王");
    let given = GIVEN_NAMES.choose(rng).copied().unwrap_or("伟");
    let phone = format!(
        "+86 1{}{} {:04} {:04}",
        rng.random_range(3..=9),
        rng.random_range(0..=9),
        rng.random_range(0..10_000),
        rng.random_range(0..10_000)
    );
    let (vin, year) = vin(rng);
    let province = network[dealer].province;
    let plate = format!(
        "{province}{}{}",
        char::from(b'A' + rng.random_range(0..8u8)),
        random_chars(rng, 5)
    );
    let purchased = jiff::civil::date(year, rng.random_range(1..=12), rng.random_range(1..=28));
    let vehicle = Vehicle {
        vin: Vin::parse(vin)?,
        plate: rng
            .random_bool(0.95)
            .then(|| Plate::parse(plate))
            .transpose()?,
        model: Label::parse(MODELS.choose(rng).copied().unwrap_or("Sedan 1.5L"))?,
        mileage: Mileage::new(rng.random_range(300..150_000))?,
        purchased_on: Some(purchased),
    };
    Ok(Identity {
        customer: Customer {
            name: Label::parse(format!("{surname}{given}"))?,
            phone: PhoneNumber::parse(phone)?,
        },
        vehicle,
        dealer,
    })
}

fn random_chars(rng: &mut ChaCha8Rng, count: usize) -> String {
    (0..count)
        .map(|_| char::from(*VIN_CHARS.choose(rng).unwrap_or(&b'0')))
        .collect()
}

/// A VIN with a correct check digit (9th character) and its model year.
fn vin(rng: &mut ChaCha8Rng) -> (String, i16) {
    let &(year_code, year) = MODEL_YEARS.choose(rng).unwrap_or(&MODEL_YEARS[0]);
    let wmi = WMIS.choose(rng).copied().unwrap_or("LSV");
    let mut chars: Vec<u8> = wmi.bytes().collect();
    chars.extend(random_chars(rng, 5).bytes()); // vehicle descriptor
    chars.push(b'0'); // check digit, filled in below
    chars.push(year_code);
    chars.extend(random_chars(rng, 7).bytes()); // plant and serial number
    chars[8] = check_digit(&chars);
    (String::from_utf8_lossy(&chars).into_owned(), year)
}

/// The ISO 3779 / FMVSS 115 check digit, also required by China's GB 16735.
pub(super) fn check_digit(vin: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let value = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'H' => u32::from(c - b'A') + 1,
            b'J'..=b'N' => u32::from(c - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(c - b'S') + 2,
            _ => 0,
        }
    };
    let sum: u32 = vin.iter().zip(WEIGHTS).map(|(c, w)| value(*c) * w).sum();
    match sum % 11 {
        10 => b'X',
        digit => b'0' + digit as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn check_digit_matches_a_known_vin() {
        // The textbook example of the check-digit algorithm.
        assert_eq!(check_digit(b"1M8GDM9AXKP042788"), b'X');
        assert_eq!(check_digit(b"11111111111111111"), b'1');
    }

    #[test]
    fn dealers_spread_over_regions_with_unique_codes() {
        let network = dealers(12, 4).expect("dealers");
        let codes: std::collections::BTreeSet<_> = network.iter().map(|d| d.code.clone()).collect();
        assert_eq!(codes.len(), 12);
        assert_eq!(network[0].code.as_str(), "SH-0042");
        assert_eq!(network[0].region.as_str(), "EAST");
        assert_eq!(network[5].region.as_str(), "NORTH");
    }

    #[test]
    fn identities_are_valid_and_repeatable() {
        let network = dealers(5, 3).expect("dealers");
        let draw = |seed| identity(&mut ChaCha8Rng::seed_from_u64(seed), &network).expect("valid");
        assert_eq!(draw(7), draw(7));
        for seed in 0..200 {
            let vin = draw(seed).vehicle.vin;
            assert_eq!(
                check_digit(vin.as_str().as_bytes()),
                vin.as_str().as_bytes()[8]
            );
        }
    }
}
