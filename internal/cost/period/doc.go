// Package period is the calendar arithmetic of cost reporting, kept pure so
// every caller (the cost controller, the aggregated API, the kubectl plugin
// and the scheduled export) agrees on what a window means.
//
// Every window is an explicit half-open UTC interval [Start, End). Canopy
// never sends OpenCost a relative window such as "1d" or "lastweek": those
// are interpreted by OpenCost as "since midnight" in its own time zone and
// silently change meaning across the day. ParseWindow turns the user-facing
// forms (a date or RFC 3339 range, lastmonth, mtd, yesterday, today) into an
// explicit interval given the current time.
//
// A period is one UTC day or one UTC calendar month. A period is closed once
// a grace delay has passed after its end, so that metrics that arrive late
// land before the period is exported; Closed lists those periods.
package period
