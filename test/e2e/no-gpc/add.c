// Plain C, no gpc API.
int add(int a, int b)
{
	return a + b;
}
