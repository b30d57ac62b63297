// Local-notification reminders: iOS lets no app measure in the background, so the
// citizen is reminded to measure by hand until the day's target is reached.
//
// The engine plans the reminders (the remaining slots of today while the target is not
// met, then every slot of the next days, in the user's time zone, each with the key
// of its text); this class only books what it is given, replacing what it booked
// before, so they fire even if the app is not opened for days. It is re-planned on
// every return to the foreground and on every background refresh (BackgroundRefresh).

import Foundation
import IspeedCore
import UserNotifications

/// One reminder as the engine plans it: when, and the key of its text in
/// Localizable.strings (`reminder_first`, `reminder_again`, `reminder_last`).
public struct PlannedReminder: Equatable {
    public let at: Date
    public let textKey: String

    public init(at: Date, textKey: String) {
        self.at = at
        self.textKey = textKey
    }
}

/// Books the reminders the engine plans.
public final class Reminders {
    /// Whether the user lets the app notify.
    public enum Permission {
        /// Never asked: ask when the user turns the reminders on.
        case notAsked
        /// Allowed (provisional and ephemeral count as allowed).
        case allowed
        /// Refused: only the Settings app can change it.
        case denied
    }

    private let center: UNUserNotificationCenter
    private static let prefix = "org.ispeed.reminder."
    /// iOS keeps at most 64 pending local notifications per app and silently drops the
    /// rest; a week of three a day is 21, this only guards a longer plan.
    private static let maxPending = 60

    public init(center: UNUserNotificationCenter = .current()) {
        self.center = center
    }

    /// Where the notification permission stands.
    public func permission() async -> Permission {
        let settings = await center.notificationSettings()
        switch settings.authorizationStatus {
        case .notDetermined:
            return .notAsked
        case .denied:
            return .denied
        default:
            return .allowed
        }
    }

    /// Asks for permission to notify (the system prompt shows once; later calls
    /// return the answer given). Call it when the user turns the reminders on.
    public func requestPermission() async -> Bool {
        (try? await center.requestAuthorization(options: [.alert, .sound])) ?? false
    }

    /// Replaces the pending reminders with `plan`; returns how many were booked.
    /// Reminders already due are skipped. Without permission iOS books nothing.
    @discardableResult
    public func book(_ plan: [PlannedReminder]) async -> Int {
        let pending = await center.pendingNotificationRequests()
        let ours = pending.map(\.identifier).filter { $0.hasPrefix(Self.prefix) }
        center.removePendingNotificationRequests(withIdentifiers: ours)

        let now = Date()
        var booked = 0
        for reminder in plan where reminder.at > now {
            guard booked < Self.maxPending else { break }
            let content = UNMutableNotificationContent()
            content.title = NSLocalizedString("reminder.title", bundle: .module, comment: "")
            content.body = NSLocalizedString(reminder.textKey, bundle: .module, comment: "")
            content.sound = .default
            // The engine's instant: components with their time zone set fire at that
            // instant even if the phone's zone changes before it.
            var parts = Calendar.current.dateComponents(
                [.year, .month, .day, .hour, .minute, .second], from: reminder.at
            )
            parts.timeZone = Calendar.current.timeZone
            let trigger = UNCalendarNotificationTrigger(dateMatching: parts, repeats: false)
            let id = Self.prefix + String(Int(reminder.at.timeIntervalSince1970))
            do {
                try await center.add(UNNotificationRequest(identifier: id, content: content, trigger: trigger))
                booked += 1
            } catch {
                // Not allowed, or the system refused it: the next re-plan tries again.
            }
        }
        return booked
    }

    /// Replaces the pending reminders with every one of the engine's routine plan.
    @discardableResult
    public func book(_ plan: RoutinePlan) async -> Int {
        await book(plan.reminders.map { PlannedReminder(at: $0.at, textKey: $0.textKey) })
    }
}
