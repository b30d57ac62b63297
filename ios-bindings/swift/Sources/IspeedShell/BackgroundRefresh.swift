// The iOS routine's background refresh: a BGAppRefreshTask that sends pending samples
// and re-plans the reminders, so a participant who does not open the app for days
// keeps a week of reminders ahead and their samples reach the collector.
//
// iOS decides when (and whether) the task runs: the earliest date asked is a hint,
// typically honoured within hours for an app the user opens. The work is one call
// into the shell's model, which forwards to the engine; this file only adapts the
// scheduler: register at launch, book the next run, finish within the time iOS
// grants, and stop at once when it withdraws it.
//
// The app's Info.plist must list the identifier under
// `BGTaskSchedulerPermittedIdentifiers` and `fetch` under `UIBackgroundModes`
// (ios-bindings/README.md).

import BackgroundTasks
import Foundation

/// Registers, schedules and runs the routine's background refresh.
public enum BackgroundRefresh {
    /// The task identifier, as listed in the app's Info.plist.
    public static let identifier = "org.ispeed.routine.refresh"

    /// How soon after being booked the refresh may run: a few times a day keeps the
    /// reminder plan and the upload queue fresh without spending the app's budget.
    static let earliestDelay: TimeInterval = 4 * 60 * 60

    /// Registers the handler. Call it once, before the app finishes launching (in the
    /// `App`'s `init`, or `application(_:didFinishLaunchingWithOptions:)`), as iOS
    /// requires. `refresh` does the work and says whether it succeeded; it must stop
    /// promptly when its task is cancelled.
    public static func register(refresh: @escaping @Sendable () async -> Bool) {
        let registered = BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGAppRefreshTask else {
                task.setTaskCompleted(success: false)
                return
            }
            handle(task, refresh: refresh)
        }
        // False when the identifier is missing from the Info.plist: a build mistake.
        assert(registered, "add \(identifier) to BGTaskSchedulerPermittedIdentifiers in Info.plist")
    }

    /// Books the next refresh, replacing a booked one (one request per identifier).
    /// Call it when the app goes to the background; each run books the next itself.
    public static func schedule() {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: earliestDelay)
        do {
            try BGTaskScheduler.shared.submit(request)
        } catch {
            // Background refresh off in Settings, or the simulator: the routine still
            // re-plans whenever the app comes to the foreground.
        }
    }

    /// Runs one refresh within the time iOS grants.
    private static func handle(_ task: BGAppRefreshTask, refresh: @escaping @Sendable () async -> Bool) {
        // The next run first: if this one is cut short, the chain goes on.
        schedule()
        let completion = Completion(task)
        let work = Task {
            let ok = await refresh()
            completion.finish(success: ok && !Task.isCancelled)
        }
        // iOS withdraws the time: cancel the work (an upload in flight stays queued in
        // the engine) and report at once, as the expiration handler must.
        task.expirationHandler = {
            work.cancel()
            completion.finish(success: false)
        }
    }
}

/// Reports a task's end exactly once, whichever of the work and the expiration
/// handler comes first.
private final class Completion: @unchecked Sendable {
    private let task: BGTask
    private let lock = NSLock()
    private var done = false

    init(_ task: BGTask) {
        self.task = task
    }

    func finish(success: Bool) {
        lock.lock()
        let first = !done
        done = true
        lock.unlock()
        if first {
            task.setTaskCompleted(success: success)
        }
    }
}
