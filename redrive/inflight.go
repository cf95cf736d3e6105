package redrive

// itemsInFlight is how many items may hold a slot at a concurrency: one per request,
// or in the batched modes two batches per call, the one in flight and the one gathering
// behind it (with one, the next call would leave with the few items that came in last).
func itemsInFlight(mode Mode, concurrency int) int {
	if mode.Batched() {
		return 2 * EventBatchSize * max(1, concurrency)
	}
	return max(1, concurrency)
}

// windowFor is how many items may be under way at a concurrency: the requests in flight,
// and as many more checking, claiming and opening their objects meanwhile.
func windowFor(concurrency int) int { return 2 * max(1, concurrency) }
