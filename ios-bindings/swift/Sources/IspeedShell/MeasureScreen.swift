// The measure screen: Measure button, live progress, today's count toward the daily
// target, the reminders switch, the campaign area, and the latest results.
//
// The routine is re-planned every time the app becomes active (the day may have
// turned, the user may have measured) and a background refresh is booked when it
// leaves the foreground (BackgroundRefresh).

import IspeedCore
import SwiftUI
import UIKit

/// The app's main screen.
public struct MeasureScreen: View {
    @ObservedObject private var model: MeasureModel
    @State private var areaText = ""
    @State private var hamletText = ""
    @State private var chosenArea: OfficialArea?
    @Environment(\.scenePhase) private var scenePhase

    public init(model: MeasureModel) {
        self.model = model
    }

    public var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            Text(String(format: NSLocalizedString("today.count", bundle: .module, comment: ""),
                        model.todayCount, model.dailyTarget))
                .font(.headline)
            ProgressView(value: Double(min(model.todayCount, model.dailyTarget)),
                         total: Double(model.dailyTarget))

            if model.running {
                Button(role: .cancel) {
                    model.cancel()
                } label: {
                    Text("cancel", bundle: .module).frame(maxWidth: .infinity)
                }
                .buttonStyle(.bordered)
            } else {
                Button {
                    model.measure()
                } label: {
                    Text("measure", bundle: .module).frame(maxWidth: .infinity)
                }
                .buttonStyle(.borderedProminent)
            }

            if let phase = model.phase {
                Text(LocalizedStringKey(Self.phaseKey(phase)), bundle: .module)
                    .font(.subheadline)
            }
            FiguresRow(latencyMs: model.latencyMs, downloadMbps: model.downloadMbps, uploadMbps: model.uploadMbps)

            if let code = model.errorCode {
                // A code newer than these strings shows the engine's English sentence,
                // never the raw key.
                Text(NSLocalizedString("error." + code, bundle: .module,
                                       value: model.errorReason ?? code, comment: ""))
                    .foregroundColor(.red)
            }

            RemindersRow(permission: model.remindersPermission) {
                Task { await model.turnOnReminders() }
            }

            if let area = model.area {
                Text(String(format: NSLocalizedString("area.joined", bundle: .module, comment: ""),
                            [area.province, area.district, area.commune, area.hamlet, area.organisation]
                                .compactMap { $0 }.joined(separator: " / ")))
                    .font(.footnote)
            } else {
                Text("area", bundle: .module).font(.headline)
                Text("area.explained", bundle: .module).font(.footnote)
                if let pick = chosenArea {
                    Text(pick.label).font(.subheadline)
                    TextField(NSLocalizedString("area.hamlet", bundle: .module, comment: ""),
                              text: $hamletText)
                        .textFieldStyle(.roundedBorder)
                    HStack {
                        Button {
                            model.joinCommune(code: pick.code, hamlet: hamletText)
                        } label: {
                            Text("area.join", bundle: .module)
                        }
                        Button {
                            chosenArea = nil
                        } label: {
                            Text("area.change", bundle: .module)
                        }
                    }
                } else {
                    TextField(NSLocalizedString("area.search", bundle: .module, comment: ""),
                              text: $areaText)
                        .textFieldStyle(.roundedBorder)
                    let found = model.searchAreas(areaText)
                    if !areaText.trimmingCharacters(in: .whitespaces).isEmpty && found.isEmpty {
                        Text("area.no_match", bundle: .module).font(.footnote)
                    }
                    // Labels are unique; codes are not (province 4 and commune 4 both exist).
                    ForEach(found, id: \.label) { match in
                        Button {
                            // A province narrows the search; a commune is the choice.
                            if match.level == "commune" {
                                chosenArea = match
                            } else {
                                areaText = match.name
                            }
                        } label: {
                            Text(match.label)
                        }
                    }
                }
            }

            Text("history", bundle: .module).font(.headline)
            List(model.recent, id: \.id) { m in
                VStack(alignment: .leading) {
                    Text(m.startedAt, style: .time).font(.caption)
                    FiguresRow(latencyMs: m.latency?.medianMs, downloadMbps: m.download?.mbps, uploadMbps: m.upload?.mbps)
                }
            }
            .listStyle(.plain)
        }
        .padding()
        // The day may have turned, or a measurement been made, since the last look.
        .task { await model.refresh() }
        .onChange(of: scenePhase) { phase in
            switch phase {
            case .active:
                Task { await model.refresh() }
            case .background:
                BackgroundRefresh.schedule()
            default:
                break
            }
        }
    }

    private static func phaseKey(_ phase: Phase) -> String {
        switch phase {
        case .latency: return "phase.latency"
        case .download: return "phase.download"
        case .upload: return "phase.upload"
        }
    }
}

/// The reminders switch: asks for the notification permission when turned on; after
/// a refusal, only the Settings app can allow it, so the row opens it.
struct RemindersRow: View {
    let permission: Reminders.Permission
    let turnOn: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            switch permission {
            case .allowed:
                Label {
                    Text("reminders.on", bundle: .module)
                } icon: {
                    Image(systemName: "bell")
                }
            case .notAsked:
                Text("reminders.explained", bundle: .module).font(.footnote)
                Button(action: turnOn) {
                    Text("reminders.turn_on", bundle: .module)
                }
            case .denied:
                Text("reminders.denied", bundle: .module).font(.footnote)
                Button {
                    if let url = URL(string: UIApplication.openSettingsURLString) {
                        UIApplication.shared.open(url)
                    }
                } label: {
                    Text("reminders.open_settings", bundle: .module)
                }
            }
        }
    }
}

/// Latency, download and upload side by side.
struct FiguresRow: View {
    let latencyMs: Double?
    let downloadMbps: Double?
    let uploadMbps: Double?

    var body: some View {
        HStack(spacing: 16) {
            Label(Self.format(latencyMs) + " ms", systemImage: "timer")
            Label(Self.format(downloadMbps) + " Mbit/s", systemImage: "arrow.down")
            Label(Self.format(uploadMbps) + " Mbit/s", systemImage: "arrow.up")
        }
        .font(.callout)
    }

    private static func format(_ value: Double?) -> String {
        guard let value else { return "–" }
        return String(format: "%.1f", value)
    }
}
