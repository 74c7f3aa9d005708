# echo: Deutsch
nothing = nichts zu wiederholen; so geht's: /echo <Text>
who = { $name }{ $handle }, { $platform }-Nutzer { $user }, im Chat { $chat }
topic = , Thema { $topic }
guild = , Server { $guild }
