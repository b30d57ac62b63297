// Local-notification reminders: iOS lets no app measure in the background, so the
// citizen is reminded to measure by hand until the day's target is reached.
//
// The engine's daily status says which reminders to book (today's remaining slots
// while the target is not met, then tomorrow's, in the user's time zone); this class
// only books them, so they fire even if the app is not opened in between.

import Foundation
import IspeedCore
import UserNotifications

/// Books the reminders of the engine's daily status.
public final class Reminders {
    private let center: UNUserNotificationCenter
    private static let prefix = "org.ispeed.reminder."

    public init(center: UNUserNotificationCenter = .current()) {
        self.center = center
    }

    /// Asks for permission to notify, explaining why in the system prompt's context.
    public func requestPermission() async -> Bool {
        (try? await center.requestAuthorization(options: [.alert, .sound])) ?? false
    }

    /// Replaces the pending reminders with those of `status`.
    public func book(_ status: DailyStatus) async {
        let pending = await center.pendingNotificationRequests()
        let ours = pending.map(\.identifier).filter { $0.hasPrefix(Self.prefix) }
        center.removePendingNotificationRequests(withIdentifiers: ours)

        let calendar = Calendar.current
        for date in status.upcomingReminders {
            let content = UNMutableNotificationContent()
            content.title = NSLocalizedString("reminder.title", bundle: .module, comment: "")
            // Reminders for tomorrow start the count again.
            let done = calendar.isDate(date, inSameDayAs: Date()) ? Int(status.doneToday) : 0
            content.body = String(
                format: NSLocalizedString("reminder.body", bundle: .module, comment: ""),
                done, Int(status.target)
            )
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let trigger = UNCalendarNotificationTrigger(dateMatching: parts, repeats: false)
            let id = Self.prefix + String(Int(date.timeIntervalSince1970))
            try? await center.add(UNNotificationRequest(identifier: id, content: content, trigger: trigger))
        }
    }

    /// Replaces the pending reminders with the week the engine planned, each with
    /// the text of its key (`reminder_first`, `reminder_again`, `reminder_last`).
    public func book(_ plan: RoutinePlan) async {
        let pending = await center.pendingNotificationRequests()
        let ours = pending.map(\.identifier).filter { $0.hasPrefix(Self.prefix) }
        center.removePendingNotificationRequests(withIdentifiers: ours)

        let calendar = Calendar.current
        for reminder in plan.reminders {
            let content = UNMutableNotificationContent()
            content.title = NSLocalizedString("reminder.title", bundle: .module, comment: "")
            content.body = NSLocalizedString(reminder.textKey, bundle: .module, comment: "")
            let parts = calendar.dateComponents(
                [.year, .month, .day, .hour, .minute], from: reminder.at)
            let trigger = UNCalendarNotificationTrigger(dateMatching: parts, repeats: false)
            let id = Self.prefix + String(Int(reminder.at.timeIntervalSince1970))
            try? await center.add(UNNotificationRequest(identifier: id, content: content, trigger: trigger))
        }
    }
}
