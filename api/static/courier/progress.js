// The courier's day on the phone: which stops are done, what changed in the plan.
//
// A stop is done on the server once its scan is accepted (GET /runsheet says so). Between the
// tap and the sync the phone knows better: a pickup or delivery queued here marks its stop
// done at once ("done, not sent yet"), confirmed when the server accepts it, and undone if the
// server refuses it. Arrivals are kept here until sent, like scans.

// Scan kinds that finish a stop of each kind, and the state they leave it in.
const FINISHING = {
  home_pickup: { picked_up: "done", pickup_refused: "failed" },
  home_delivery: { delivered: "done", attempt_failed: "failed" },
};
const FINISHED = new Set(["done", "failed"]);

// The stop's state to show, and whether the server has confirmed it:
// { status: "planned"|"arrived"|"done"|"failed"|"cancelled", confirmed: bool }.
export function stopState(stop, records, arrivals) {
  if (FINISHED.has(stop.status) || stop.status === "cancelled") return { status: stop.status, confirmed: true };
  const finishing = FINISHING[stop.kind] || {};
  const codes = new Set((stop.items || []).map((i) => i.code));
  const mine = records
    // Queued here, or accepted by the server; a refused or contested scan finishes nothing.
    .filter((r) => codes.has(r.payload.code) && finishing[r.payload.kind] && (r.state === "pending" || r.state === "accepted"))
    .sort((a, b) => b.queued_at - a.queued_at);
  if (mine.length) {
    // Accepted by the server but the sheet is older than the answer: confirmed all the same.
    return { status: finishing[mine[0].payload.kind], confirmed: mine[0].state !== "pending" };
  }
  const arrival = arrivals[String(stop.id)];
  if (stop.status === "arrived" || arrival) {
    return { status: "arrived", confirmed: stop.status === "arrived" || (arrival && arrival.state === "sent") };
  }
  return { status: stop.status, confirmed: true };
}

// "3/18 xong": finished of the day's stops, cancelled ones left out.
export function dayCount(states) {
  const live = states.filter((s) => s.status !== "cancelled");
  const finished = live.filter((s) => FINISHED.has(s.status)).length;
  return { finished, total: live.length, remaining: live.length - finished };
}

// What changed between the sheet last shown and the new one, among stops still to do:
// { added: [stop], removed: [stop], moved: [{stop, from, to}] } (from/to: the stop numbers).
// A stop finished since is progress, not a change of plan.
export function planChanges(shown, fresh) {
  const open = (s) => !FINISHED.has(s.status) && s.status !== "cancelled";
  const before = (shown.stops || []).filter(open);
  const freshById = new Map((fresh.stops || []).map((s) => [s.id, s]));
  const after = (fresh.stops || []).filter(open);
  const beforeIds = before.map((s) => s.id);
  const afterIds = after.map((s) => s.id);
  const added = after.filter((s) => !beforeIds.includes(s.id));
  const removed = before.filter((s) => {
    const now = freshById.get(s.id);
    return !now || now.status === "cancelled";
  });
  // Order among the stops both sheets share, so one stop added does not "move" the rest.
  const was = beforeIds.filter((id) => afterIds.includes(id));
  const now = afterIds.filter((id) => beforeIds.includes(id));
  const shownById = new Map(before.map((s) => [s.id, s]));
  const moved = after
    .filter((s) => was.includes(s.id) && was.indexOf(s.id) !== now.indexOf(s.id))
    .map((s) => ({ stop: s, from: shownById.get(s.id).sequence, to: s.sequence }));
  return { added, removed, moved };
}

export function hasChanges(changes) {
  return Boolean(changes && (changes.added.length || changes.removed.length || changes.moved.length));
}
