// hipsense clip enclosure: a two-part PETG box with a waistband clip, for the parts in hardware/bom.csv.
//
// Stack (bottom to top inside the box): LiPo cell, ESP32-S3 Feather board on standoffs, IMU breakout
// screwed to the lid's bosses so it is rigidly coupled to the box (a loose IMU adds its own vibration).
// The lid faces away from the body; the IMU's x axis points up the arrow embossed on the lid
// (hardware/README.md, "Axes as mounted"). The clip tongue is on the base, against the body.
//
// Render:  openscad -D 'part="base"' -o base.stl clip.scad   (part = "base", "lid" or "assembly")

part = "assembly";

// Parts (mm). Feather boards are 50.8 x 22.9; the 500 mAh cell (Adafruit 1578) 36 x 29 x 4.75;
// the LSM6DSOX STEMMA breakout (Adafruit 4438) 25.4 x 17.8 with M2.5 holes 20.3 apart.
feather = [50.8, 22.9, 1.6];
cell = [36, 29, 5];
imu_board = [25.4, 17.8, 1.6];
imu_hole_pitch = 20.3;

wall = 2.0;
clearance = 0.6;
inner = [max(feather[0], cell[0]) + 2 * clearance + 4, max(feather[1], cell[1]) + 2 * clearance, 16];
outer = [inner[0] + 2 * wall, inner[1] + 2 * wall, inner[2] + wall];
lid_t = 2.0;
corner_r = 4;

usb_opening = [10, 4.5];   // USB-C on the Feather's short edge
button_d = 7;              // 6 x 6 mm tactile switch with a cap
led_d = 3.2;               // light pipe or the board's LED

clip_w = 16;
clip_len = outer[0] * 0.8;
clip_gap = 3.5;            // waistband thickness it grips
clip_t = 2.2;

$fn = 48;

module rounded_box(size, r) {
    hull() for (x = [r, size[0] - r], y = [r, size[1] - r])
        translate([x, y, 0]) cylinder(r = r, h = size[2]);
}

module base() {
    difference() {
        rounded_box(outer, corner_r);
        translate([wall, wall, wall]) rounded_box([inner[0], inner[1], inner[2] + 1], corner_r - wall);
        // USB-C at the lower short edge (the clip is worn USB side down).
        translate([-1, outer[1] / 2 - usb_opening[0] / 2, wall + cell[2] + 3])
            cube([wall + 2, usb_opening[0], usb_opening[1]]);
        // Button on the upper short edge, LED beside it: reachable with a thumb while worn.
        translate([outer[0] - wall - 1, outer[1] / 2 + 5, outer[2] - 6])
            rotate([0, 90, 0]) cylinder(d = button_d, h = wall + 2);
        translate([outer[0] - wall - 1, outer[1] / 2 - 6, outer[2] - 6])
            rotate([0, 90, 0]) cylinder(d = led_d, h = wall + 2);
    }
    // Standoffs for the Feather above the cell.
    for (x = [wall + 4, wall + 4 + feather[0] - 5], y = [wall + 3, outer[1] - wall - 3])
        translate([x, y, wall]) difference() {
            cylinder(d = 5, h = cell[2] + 1.5);
            cylinder(d = 2.2, h = cell[2] + 2);
        }
    clip();
}

module clip() {
    // A tongue joined at the top end, open at the bottom, so the clip slides down over the waistband.
    translate([(outer[0] - clip_len) / 2 + clip_len, outer[1] / 2 - clip_w / 2, 0]) mirror([1, 0, 0]) {
        translate([0, 0, -clip_gap - clip_t]) cube([clip_len, clip_w, clip_t]);
        translate([0, 0, -clip_gap - clip_t]) cube([clip_t + 2, clip_w, clip_gap + clip_t]);
        // A small lip at the open end keeps the band from sliding out.
        translate([clip_len - 3, 0, -clip_gap - 0.2]) cube([3, clip_w, 1.2]);
    }
}

module lid() {
    difference() {
        union() {
            rounded_box([outer[0], outer[1], lid_t], corner_r);
            // Locating rim inside the base.
            translate([wall + 0.2, wall + 0.2, -2]) difference() {
                rounded_box([inner[0] - 0.4, inner[1] - 0.4, 2], corner_r - wall);
                translate([1.2, 1.2, -1]) rounded_box([inner[0] - 2.8, inner[1] - 2.8, 4], corner_r - wall - 1);
            }
        }
        // The axis arrow: x up when worn (USB end down).
        translate([outer[0] / 2, outer[1] / 2, lid_t - 0.6]) linear_extrude(1) {
            translate([-12, -1.2]) square([18, 2.4]);
            translate([6, 0]) polygon([[0, -5], [8, 0], [0, 5]]);
        }
    }
    // IMU bosses on the underside: the breakout is screwed flat against the lid, so it moves with the box.
    for (dx = [-imu_hole_pitch / 2, imu_hole_pitch / 2])
        translate([outer[0] / 2 + dx, outer[1] / 2 + imu_board[1] / 2 - 2.5, -4]) difference() {
            cylinder(d = 5, h = 4);
            cylinder(d = 2.2, h = 4.1);
        }
}

if (part == "base") base();
else if (part == "lid") lid();
else {
    base();
    translate([0, 0, outer[2] + 8]) lid();
}
