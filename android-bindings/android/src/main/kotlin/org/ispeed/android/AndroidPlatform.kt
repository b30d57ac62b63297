// What Android knows about the network, the radio and the battery, reported to the
// engine through the `Platform` callback interface.
//
// The engine polls `network()` during a measurement from its own threads (its guard,
// four times a second), so every answer comes from state cached by system callbacks:
// no binder call that could block on a slow system service sits on the measurement's
// path except the cheap TelephonyManager getters. While a measurement holds the
// cellular binding, the bound network's own callback (CellularBinding) is the source:
// its loss or a change of its capabilities reaches the engine's guard at the next poll.
//
// Radio facts come from the SIM that carries mobile data (on a dual-SIM phone the
// default subscription may be the voice SIM, another operator).
package org.ispeed.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Build
import android.telephony.CellSignalStrengthLte
import android.telephony.CellSignalStrengthNr
import android.telephony.SubscriptionManager
import android.telephony.TelephonyManager
import androidx.core.content.ContextCompat
import java.time.ZoneId
import java.util.concurrent.ConcurrentHashMap
import org.ispeed.core.Battery
import org.ispeed.core.DeviceInfo
import org.ispeed.core.NetworkContext
import org.ispeed.core.Platform
import org.ispeed.core.RadioTechnology
import org.ispeed.core.Signal
import org.ispeed.core.Transport

/** The Android implementation of the engine's platform. */
class AndroidPlatform(context: Context, private val appVersion: String) : Platform {
    private val app = context.applicationContext
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)
    private val telephony = app.getSystemService(TelephonyManager::class.java)
    /** The TelephonyManager pinned to the data SIM, and that SIM's id. */
    @Volatile private var dataSim: Pair<Int, TelephonyManager>? = null
    private val battery = app.getSystemService(BatteryManager::class.java)

    /** The default network and its capabilities. */
    @Volatile private var defaultNetwork: Pair<Network, NetworkCapabilities>? = null
    /** Connected Wi-Fi networks (a phone may hold more than one, briefly). */
    private val wifiNetworks: MutableSet<Network> = ConcurrentHashMap.newKeySet()

    init {
        // The default network: what an unbound socket would use.
        connectivity.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                defaultNetwork = network to caps
            }

            // Only the loss of the network we hold: a new default may have been
            // announced first.
            override fun onLost(network: Network) {
                if (defaultNetwork?.first == network) defaultNetwork = null
            }
        })
        // Whether any Wi-Fi is connected, default or not: the cellular-only policy
        // refuses to measure while it is, since Android may move traffic onto it.
        val wifiRequest = android.net.NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
            .build()
        connectivity.registerNetworkCallback(wifiRequest, object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                wifiNetworks.add(network)
            }

            override fun onLost(network: Network) {
                wifiNetworks.remove(network)
            }
        })
    }

    override fun network(): NetworkContext {
        // While a measurement is bound to the cellular network (see CellularBinding),
        // that network carries the traffic whatever the default is; once it is lost,
        // the traffic has no network (reported as unknown: the guard stops the run).
        val caps = when (val bound = CellularBinding.state) {
            null -> defaultNetwork?.second
            is CellularBinding.State.Bound -> bound.capabilities
            CellularBinding.State.Lost -> null
        }
        val transport = when {
            caps == null -> Transport.UNKNOWN
            caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> Transport.CELLULAR
            caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> Transport.WIFI
            caps.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET) -> Transport.ETHERNET
            else -> Transport.UNKNOWN
        }
        val cellular = transport == Transport.CELLULAR
        val telephony = dataTelephony()
        return NetworkContext(
            transport = transport,
            wifiConnected = wifiNetworks.isNotEmpty(),
            technology = if (cellular) technology(telephony) else RadioTechnology.UNKNOWN,
            operator = telephony.networkOperatorName.takeIf { cellular && it.isNotBlank() },
            mccMnc = telephony.networkOperator.takeIf { cellular && it.length >= 5 }
                ?.let { "${it.substring(0, 3)}-${it.substring(3)}" },
            signal = if (cellular) signal(telephony) else Signal(),
            metered = caps?.let { !it.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) },
            roaming = caps?.let { !it.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_ROAMING) },
        )
    }

    /**
     * The TelephonyManager of the data subscription, made once per data SIM. The id is
     * read at each poll (the user may switch the data SIM), a cheap call that
     * SubscriptionManager caches on recent Android. Without a data SIM, the default.
     */
    private fun dataTelephony(): TelephonyManager {
        val id = SubscriptionManager.getDefaultDataSubscriptionId()
        if (id == SubscriptionManager.INVALID_SUBSCRIPTION_ID) return telephony
        dataSim?.let { (cached, manager) -> if (cached == id) return manager }
        return telephony.createForSubscriptionId(id).also { dataSim = id to it }
    }

    /** Radio technology of the data connection; unknown without READ_PHONE_STATE. */
    private fun technology(telephony: TelephonyManager): RadioTechnology {
        val granted = ContextCompat.checkSelfPermission(app, Manifest.permission.READ_PHONE_STATE) ==
            PackageManager.PERMISSION_GRANTED
        if (!granted) return RadioTechnology.UNKNOWN
        return when (telephony.dataNetworkType) {
            TelephonyManager.NETWORK_TYPE_GPRS, TelephonyManager.NETWORK_TYPE_EDGE,
            TelephonyManager.NETWORK_TYPE_GSM -> RadioTechnology.G2
            TelephonyManager.NETWORK_TYPE_UMTS, TelephonyManager.NETWORK_TYPE_HSDPA,
            TelephonyManager.NETWORK_TYPE_HSUPA, TelephonyManager.NETWORK_TYPE_HSPA,
            TelephonyManager.NETWORK_TYPE_HSPAP -> RadioTechnology.G3
            // NR anchored on LTE reports LTE here; TelephonyDisplayInfo would tell NSA
            // apart, at the cost of a listener: a later refinement.
            TelephonyManager.NETWORK_TYPE_LTE -> RadioTechnology.G4
            TelephonyManager.NETWORK_TYPE_NR -> RadioTechnology.G5_SA
            else -> RadioTechnology.UNKNOWN
        }
    }

    /** Serving-cell signal, from the API that needs no location permission. */
    private fun signal(telephony: TelephonyManager): Signal {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return Signal()
        val strengths = telephony.signalStrength?.cellSignalStrengths ?: return Signal()
        fun valid(v: Int) = v.takeIf { it != android.telephony.CellInfo.UNAVAILABLE }?.toDouble()
        strengths.filterIsInstance<CellSignalStrengthNr>().firstOrNull()?.let {
            return Signal(rsrpDbm = valid(it.ssRsrp), rsrqDb = valid(it.ssRsrq), sinrDb = valid(it.ssSinr))
        }
        strengths.filterIsInstance<CellSignalStrengthLte>().firstOrNull()?.let {
            return Signal(rsrpDbm = valid(it.rsrp), rsrqDb = valid(it.rsrq), sinrDb = valid(it.rssnr))
        }
        return Signal()
    }

    override fun battery(): Battery? {
        val percent = battery.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY)
        if (percent !in 0..100) return null
        return Battery(percent = percent.toUByte(), charging = battery.isCharging)
    }

    override fun device(): DeviceInfo = DeviceInfo(
        platform = "android",
        osVersion = Build.VERSION.RELEASE,
        // The marketed model, never a serial number or any other identifier.
        model = Build.MODEL,
        appVersion = appVersion,
    )

    override fun timeZone(): String = ZoneId.systemDefault().id
}
