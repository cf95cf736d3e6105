package payload

import "strconv"

// Human formats a byte count for people: "512 B", "1.0 KiB", "48.3 MiB".
func Human(n int64) string {
	sign, u := "", uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-(n+1))+1 // math.MinInt64 has no positive int64
	}
	if u < 1024 {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	const units = "KMGTPE"
	v := float64(u) / 1024
	unit := 0
	// Move up a unit when rounding to one decimal would show 1024.0.
	for v >= 1023.95 && unit < len(units)-1 {
		v /= 1024
		unit++
	}
	return sign + strconv.FormatFloat(v, 'f', 1, 64) + " " + units[unit:unit+1] + "iB"
}
