// Opens the Android library module on its own in Android Studio
// (File > Open > android-bindings). An app includes it the same way:
//   include(":ispeed"); project(":ispeed").projectDir = file("<repo>/android-bindings/android")
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        id("com.android.library") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.1.0"
        id("org.jetbrains.kotlin.plugin.compose") version "2.1.0"
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "ispeed-android"
include(":ispeed")
project(":ispeed").projectDir = file("android")
