// Local-notification reminders: iOS lets no app measure in the background, so the
// citizen is reminded to measure by hand until the day's target is reached.
//
// Driven by the daily status (how many valid measurements today, toward the
// target); the times of the reminders are the shell's only decision.

import Foundation
import UserNotifications

/// Schedules the day's remaining reminders.
public final class Reminders {
    /// Hours of the day at which a reminder may fire: morning, midday, evening.
    public static let hours = [9, 13, 19]
    private let center: UNUserNotificationCenter
    private static let prefix = "org.ispeed.reminder."

    public init(center: UNUserNotificationCenter = .current()) {
        self.center = center
    }

    /// Asks for permission to notify, explaining why in the system prompt's context.
    public func requestPermission() async -> Bool {
        (try? await center.requestAuthorization(options: [.alert, .sound])) ?? false
    }

    /// Replaces pending reminders: none once `done` reaches `target`, otherwise one
    /// at each remaining hour today, and the first hour tomorrow.
    public func update(done: Int, target: Int, now: Date = Date()) async {
        let pending = await center.pendingNotificationRequests()
        let ours = pending.map(\.identifier).filter { $0.hasPrefix(Self.prefix) }
        center.removePendingNotificationRequests(withIdentifiers: ours)

        let calendar = Calendar.current
        var fireDates: [Date] = []
        if done < target {
            for hour in Self.hours {
                if let date = calendar.date(bySettingHour: hour, minute: 0, second: 0, of: now), date > now {
                    fireDates.append(date)
                }
            }
        }
        if let tomorrow = calendar.date(byAdding: .day, value: 1, to: now),
           let first = calendar.date(bySettingHour: Self.hours[0], minute: 0, second: 0, of: tomorrow) {
            fireDates.append(first)
        }

        for date in fireDates {
            let content = UNMutableNotificationContent()
            content.title = NSLocalizedString("reminder.title", bundle: .module, comment: "")
            content.body = String(
                format: NSLocalizedString("reminder.body", bundle: .module, comment: ""),
                min(done, target), target
            )
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let trigger = UNCalendarNotificationTrigger(dateMatching: parts, repeats: false)
            let id = Self.prefix + String(Int(date.timeIntervalSince1970))
            try? await center.add(UNNotificationRequest(identifier: id, content: content, trigger: trigger))
        }
    }
}
