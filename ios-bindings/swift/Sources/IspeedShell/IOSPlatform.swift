// What iOS knows about the network and the radio, reported to the engine through the
// `Platform` callback interface.
//
// The engine polls `network()` from its own threads during a measurement, so the
// answer comes from state NWPathMonitor keeps up to date, behind a lock.

import CoreTelephony
import Foundation
import IspeedCore
import Network
import UIKit

/// The iOS implementation of the engine's platform.
public final class IOSPlatform: Platform {
    private let monitor = NWPathMonitor()
    private let telephony = CTTelephonyNetworkInfo()
    private let lock = NSLock()
    private var path: NWPath?
    private let appVersion: String

    public init(appVersion: String) {
        self.appVersion = appVersion
        monitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            self.lock.lock()
            self.path = path
            self.lock.unlock()
        }
        monitor.start(queue: DispatchQueue(label: "org.ispeed.path"))
        UIDevice.current.isBatteryMonitoringEnabled = true
    }

    deinit {
        monitor.cancel()
    }

    public func network() -> NetworkContext {
        lock.lock()
        let path = self.path
        lock.unlock()
        guard let path, path.status == .satisfied else {
            return NetworkContext(transport: .unknown, wifiConnected: false, technology: .unknown, signal: Signal())
        }
        // iOS routes over Wi-Fi whenever it is up, and gives apps no way to pin a
        // connection to cellular: the policy therefore needs Wi-Fi off.
        let wifi = path.usesInterfaceType(.wifi)
        let transport: Transport
        if wifi {
            transport = .wifi
        } else if path.usesInterfaceType(.cellular) {
            transport = .cellular
        } else if path.usesInterfaceType(.wiredEthernet) {
            transport = .ethernet
        } else if path.usesInterfaceType(.loopback) {
            transport = .loopback
        } else {
            transport = .unknown
        }
        let cellular = transport == .cellular
        return NetworkContext(
            transport: transport,
            wifiConnected: wifi,
            interface: nil,
            technology: cellular ? technology() : .unknown,
            // CTCarrier is deprecated without replacement since iOS 16 and returns
            // placeholders: the operator is left to the collector (from the IP address).
            operator: nil,
            mccMnc: nil,
            // iOS exposes no signal strength to apps.
            signal: Signal(),
            metered: path.isExpensive,
            roaming: nil
        )
    }

    /// Radio technology of the data service.
    private func technology() -> RadioTechnology {
        guard let id = telephony.dataServiceIdentifier,
              let rat = telephony.serviceCurrentRadioAccessTechnology?[id]
        else { return .unknown }
        switch rat {
        case CTRadioAccessTechnologyGPRS, CTRadioAccessTechnologyEdge:
            return .g2
        case CTRadioAccessTechnologyWCDMA, CTRadioAccessTechnologyHSDPA, CTRadioAccessTechnologyHSUPA:
            return .g3
        case CTRadioAccessTechnologyLTE:
            return .g4
        case CTRadioAccessTechnologyNRNSA:
            return .g5Nsa
        case CTRadioAccessTechnologyNR:
            return .g5Sa
        default:
            return .unknown
        }
    }

    public func battery() -> Battery? {
        let level = UIDevice.current.batteryLevel
        guard level >= 0 else { return nil }
        let state = UIDevice.current.batteryState
        return Battery(percent: UInt8(level * 100), charging: state == .charging || state == .full)
    }

    public func device() -> DeviceInfo {
        var info = utsname()
        uname(&info)
        // The hardware model (`iPhone15,2`), never an identifier of the device.
        let model = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return DeviceInfo(
            platform: "ios",
            osVersion: UIDevice.current.systemVersion,
            model: model,
            appVersion: appVersion
        )
    }

    public func timeZone() -> String {
        TimeZone.current.identifier
    }
}
