//! EventBridge schedule expressions, validated at compile time:
//! `rate(value unit)` and `cron(minutes hours day-of-month month day-of-week year)`.
//! The rules are EventBridge's ("Schedule expressions for rules").

/// Checks a schedule expression; the error says what is wrong and how it
/// should look.
pub(crate) fn validate(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        rate(inner)
    } else if let Some(inner) = expr.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        cron(inner)
    } else {
        Err(format!(
            "`{expr}` is not a schedule expression: use `rate(5 minutes)` or `cron(0 12 * * ? *)`"
        ))
    }
}

fn rate(inner: &str) -> Result<(), String> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err(format!(
            "`rate({inner})`: a rate is a value and a unit, like `rate(5 minutes)`"
        ));
    };
    let n: u64 = value
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`rate({inner})`: the value must be a positive whole number"))?;
    let singular = matches!(unit, "minute" | "hour" | "day");
    let plural = matches!(unit, "minutes" | "hours" | "days");
    if !singular && !plural {
        return Err(format!(
            "`rate({inner})`: the unit must be minute(s), hour(s) or day(s)"
        ));
    }
    if n == 1 && plural {
        return Err(format!(
            "`rate({inner})`: a value of 1 takes a singular unit: `rate(1 {})`",
            unit.trim_end_matches('s')
        ));
    }
    if n > 1 && singular {
        return Err(format!(
            "`rate({inner})`: a value above 1 takes a plural unit: `rate({n} {unit}s)`"
        ));
    }
    Ok(())
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        }
    }
    fn range(self) -> (u32, u32) {
        match self {
            Field::Minutes => (0, 59),
            Field::Hours => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (1970, 2199),
        }
    }
    fn value(self, s: &str) -> Result<u32, String> {
        let names: &[&str] = match self {
            Field::Month => &MONTHS,
            Field::DayOfWeek => &DAYS,
            _ => &[],
        };
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i as u32 + 1);
        }
        let (lo, hi) = self.range();
        match s.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(format!(
                "`{s}` is not a valid {} value ({lo}-{hi}{})",
                self.name(),
                match self {
                    Field::Month => " or JAN-DEC",
                    Field::DayOfWeek => " or SUN-SAT",
                    _ => "",
                }
            )),
        }
    }
}

fn cron(inner: &str) -> Result<(), String> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "`cron({inner})` has {} fields; EventBridge cron expressions have six: minutes hours day-of-month month day-of-week year, like `cron(0 12 * * ? *)`",
            fields.len()
        ));
    }
    let kinds = [
        Field::Minutes,
        Field::Hours,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
        Field::Year,
    ];
    for (f, k) in fields.iter().zip(kinds) {
        field(f, k).map_err(|e| format!("`cron({inner})`: {}: {e}", k.name()))?;
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err(format!(
            "`cron({inner})`: exactly one of day-of-month and day-of-week must be `?` (EventBridge cannot take both): `cron(0 12 * * ? *)` or `cron(0 12 ? * MON-FRI *)`"
        ));
    }
    Ok(())
}

fn field(f: &str, k: Field) -> Result<(), String> {
    if f == "?" {
        return match k {
            Field::DayOfMonth | Field::DayOfWeek => Ok(()),
            _ => Err("`?` is only allowed in day-of-month and day-of-week".into()),
        };
    }
    for item in f.split(',') {
        if item.is_empty() {
            return Err(format!("empty item in `{f}`"));
        }
        item_ok(item, k)?;
    }
    Ok(())
}

fn item_ok(item: &str, k: Field) -> Result<(), String> {
    match (k, item) {
        (_, "*") => return Ok(()),
        (Field::DayOfMonth | Field::DayOfWeek, "L") => return Ok(()),
        _ => {}
    }
    if k == Field::DayOfMonth
        && let Some(d) = item.strip_suffix('W')
    {
        return k.value(d).map(|_| ());
    }
    if k == Field::DayOfWeek {
        if let Some((d, n)) = item.split_once('#') {
            k.value(d)?;
            return match n.parse::<u32>() {
                Ok(1..=5) => Ok(()),
                _ => Err(format!("`{item}`: the week after `#` must be 1-5")),
            };
        }
        if let Some(d) = item.strip_suffix('L') {
            return k.value(d).map(|_| ());
        }
    }
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(s) = step {
        let (_, hi) = k.range();
        match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= hi => {}
            _ => return Err(format!("`{item}`: the increment after `/` must be 1-{hi}")),
        }
    }
    if range == "*" {
        return Ok(());
    }
    match range.split_once('-') {
        Some((a, b)) => {
            k.value(a)?;
            k.value(b)?;
            Ok(())
        }
        None => k.value(range).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn rates() {
        for ok in [
            "rate(1 minute)",
            "rate(15 minutes)",
            "rate(1 day)",
            "rate(12 hours)",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(5 weeks)",
            "rate(five minutes)",
            "rate(5)",
            "every 5 minutes",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn crons() {
        for ok in [
            "cron(0 12 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0 10 ? * 6L 2030)",
            "cron(15 10 ? * 2#3 *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 15W JAN,JUL ? *)",
            "cron(5,35 14 * * ? *)",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "cron(0 12 * * * *)",
            "cron(0 12 ? * ? *)",
            "cron(0 12 * *)",
            "cron(60 12 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 12 32 * ? *)",
            "cron(0 12 * 13 ? *)",
            "cron(0 12 ? * 8 *)",
            "cron(0 12 ? * MON#6 *)",
            "cron(? 12 * * ? *)",
            "cron(0/0 * * * ? *)",
            "cron(0 12 * * ? 1969)",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
