# achievements: Deutsch
new = 🎉 Neuer Erfolg: { $name } ({ $threshold } Punkte)!
heading = Deine Erfolge ({ $points } { $points ->
        [one] Punkt
       *[other] Punkte
    }):
unlocked = ✓ { $name } ({ $threshold } Punkte), seit { $day }
none = Du hast noch keine Erfolge.
next = Als Nächstes: { $name } ({ $threshold } Punkte), { $missing ->
        [one] es fehlt 1 Punkt
       *[other] es fehlen { $missing } Punkte
    }.
all = Du hast alle Erfolge freigeschaltet.
no-economy = Erfolge sind gerade nicht verfügbar: economy hat nicht geantwortet ({ $why }).
achievement-pocket-money = Taschengeld
achievement-saver = Sparfuchs
achievement-four-digits = Vierstellig
achievement-tycoon = Magnat
