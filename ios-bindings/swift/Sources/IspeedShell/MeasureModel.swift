// The measure screen's state, fed by the engine. Holds no measurement, policy or
// scheduling logic: it forwards to the Rust engine and publishes what it hears.
//
// The routine's upkeep runs here too, on the engine's answers: after a measurement,
// on every return to the foreground and on every background refresh, one engine call
// (refreshRoutine) sends the pending samples to the collector and plans the week's
// reminders, which this model books.

import Foundation
import IspeedCore

/// What the measure screen shows; updated on the main actor.
@MainActor
public final class MeasureModel: ObservableObject {
    @Published public private(set) var running = false
    @Published public private(set) var phase: Phase?
    @Published public private(set) var latencyMs: Double?
    @Published public private(set) var downloadMbps: Double?
    @Published public private(set) var uploadMbps: Double?
    /// The latest measurements, newest first: the stored history, then this session's.
    @Published public private(set) var recent: [Measurement] = []
    /// Valid cellular measurements today (the engine counts stored samples in the
    /// user's time zone, across launches), toward the daily target.
    @Published public private(set) var todayCount: Int = 0
    /// The daily target of the survey (the engine's settings; 3 by default).
    @Published public private(set) var dailyTarget: Int = 3
    /// The campaign area the participant chose, once chosen.
    @Published public private(set) var area: Area?
    /// Stable code of the last error, looked up in Localizable.strings.
    @Published public private(set) var errorCode: String?
    /// The engine's English sentence for the last error: shown when this build has
    /// no text for its code (an engine newer than the strings).
    @Published public private(set) var errorReason: String?
    /// Whether the user lets the app remind them (the routine is on once allowed).
    @Published public private(set) var remindersPermission: Reminders.Permission = .notAsked

    private let engine: Engine
    private let reminders: Reminders
    private var handle: MeasureHandle?

    public init(engine: Engine, reminders: Reminders = Reminders()) {
        self.engine = engine
        self.reminders = reminders
        do {
            recent = try engine.history(limit: 20)
            area = try engine.area()
        } catch let error as IspeedError {
            show(error)
        } catch {
            errorCode = "internal"
        }
    }

    /// Refreshes the routine in one engine call (it uploads what is pending, counts
    /// today and plans a week of reminders) and books every reminder it returns: call
    /// it when the app comes to the foreground, from a background refresh, and after
    /// each measurement. Returns whether the engine answered.
    @discardableResult
    public func refresh() async -> Bool {
        remindersPermission = await reminders.permission()
        do {
            let plan = try await engine.refreshRoutine()
            todayCount = Int(plan.status.doneToday)
            dailyTarget = Int(plan.status.target)
            await reminders.book(plan)
            return true
        } catch let error as IspeedError {
            show(error)
        } catch {
            errorCode = "internal"
        }
        return false
    }

    /// Turns the routine's reminders on: asks iOS for permission (the prompt shows
    /// once; after a refusal only the Settings app can allow it), then books them.
    public func turnOnReminders() async {
        _ = await reminders.requestPermission()
        await refresh()
    }

    /// The background refresh (BackgroundRefresh): the same one engine call, which
    /// sends the pending samples and re-plans the week. Returns whether it answered.
    public func refreshInBackground() async -> Bool {
        await refresh()
    }

    /// Joins the campaign area typed as one line (`province/district/commune/hamlet`,
    /// `commune=...,hamlet=...` or `org=...`). The first choice stays.
    public func joinArea(_ text: String) {
        do {
            area = try engine.setArea(area: try engine.parseArea(text: text))
        } catch let error as IspeedError {
            show(error)
        } catch {
            errorCode = "internal"
        }
    }

    /// The provinces and communes of the official catalogue whose names match
    /// `text` (accents and case ignored), best first: the list the area screen
    /// shows. The engine searches; an empty text gives an empty list.
    public func searchAreas(_ text: String, limit: UInt32 = 20) -> [OfficialArea] {
        IspeedCore.searchAreas(text: text, limit: limit)
    }

    /// Joins the commune chosen from `searchAreas` by its official code, with an
    /// optional hamlet, village or organisation under it. The engine fills the
    /// official names; the first choice stays.
    public func joinCommune(code: UInt32, hamlet: String) {
        let typed = hamlet.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            area = try engine.setArea(area: Area(hamlet: typed.isEmpty ? nil : typed, code: code))
        } catch let error as IspeedError {
            show(error)
        } catch {
            errorCode = "internal"
        }
    }

    /// Starts a measurement unless one runs.
    public func measure() {
        guard handle == nil else { return }
        running = true
        errorCode = nil
        errorReason = nil
        phase = nil
        latencyMs = nil
        downloadMbps = nil
        uploadMbps = nil
        let listener = Listener(model: self)
        do {
            let h = try engine.startMeasure(server: nil, listener: listener)
            handle = h
            Task { await finish(h) }
        } catch let error as IspeedError {
            running = false
            show(error)
        } catch {
            running = false
            errorCode = "internal"
        }
    }

    /// Stops the running measurement.
    public func cancel() {
        handle?.cancel()
    }

    private func finish(_ h: MeasureHandle) async {
        do {
            let m = try await h.wait()
            latencyMs = m.latency?.medianMs
            downloadMbps = m.download?.mbps
            uploadMbps = m.upload?.mbps
            recent.insert(m, at: 0)
        } catch let error as IspeedError {
            show(error)
        } catch {
            errorCode = "internal"
        }
        handle = nil
        running = false
        phase = nil
        // The engine has stored the sample and sent what is pending; the refresh
        // (which sends again whatever is still queued) counts it toward today.
        await refresh()
    }

    fileprivate func hear(_ event: ProgressEvent) {
        switch event {
        case let .phaseStarted(phase):
            self.phase = phase
        case let .interval(phase, _, mbps, estimateMbps, _):
            if phase == .download {
                downloadMbps = estimateMbps ?? mbps
            } else {
                uploadMbps = estimateMbps ?? mbps
            }
        case let .phaseFinished(phase, value):
            switch phase {
            case .latency: latencyMs = value
            case .download: downloadMbps = value
            case .upload: uploadMbps = value
            }
        case .rtt:
            break
        }
    }

    /// Publishes an engine error: its code for the translated text, its sentence as
    /// the fallback.
    private func show(_ error: IspeedError) {
        errorCode = Self.code(of: error)
        errorReason = Self.reason(of: error)
    }

    /// The `reason` every case carries, read by its label: a case the engine adds
    /// (`Busy`) needs no change here, and the fallback text is never lost to it.
    private static func reason(of error: IspeedError) -> String? {
        guard let payload = Mirror(reflecting: error).children.first?.value else { return nil }
        return Mirror(reflecting: payload).children.first { $0.label == "reason" }?.value as? String
    }

    private static func code(of error: IspeedError) -> String {
        switch error {
        case let .InvalidInput(code, _), let .WifiOn(code, _), let .Network(code, _),
             let .Server(code, _), let .Cancelled(code, _), let .Busy(code, _),
             let .Storage(code, _), let .Internal(code, _):
            return code
        }
    }
}

/// Forwards engine events (on the engine's threads) to the model on the main actor.
private final class Listener: MeasureListener {
    private weak var model: MeasureModel?

    init(model: MeasureModel) {
        self.model = model
    }

    func onProgress(event: ProgressEvent) {
        Task { @MainActor [weak model] in
            model?.hear(event)
        }
    }
}
